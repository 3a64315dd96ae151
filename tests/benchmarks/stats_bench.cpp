// stats_bench: times reading and summarising a 1,000,000-row reference score CSV (baseline_pred,
// mia_a_pred, mia_b_pred) in the all-thresholds mode and in the reference mode.
// Usage: stats_bench [rows] [seed]
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "stats/report.hpp"
#include "stats/score_csv.hpp"
#include "stats/summary.hpp"

namespace {

using panoramia::stats::AuditSummary;
using panoramia::stats::ScoreTable;
using panoramia::stats::SweepOptions;
using panoramia::stats::ThresholdMode;

// Classifier-like probabilities: sigmoid of a unit normal logit, shifted up for members.
void write_csv(const std::string& path, long rows, unsigned long seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  std::normal_distribution<double> logit(0.0, 1.0);
  const double shifts[] = {0.15, 0.3, 0.5};  // baseline_pred, mia_a_pred, mia_b_pred
  std::string text = "member,baseline_pred,mia_a_pred,mia_b_pred\n";
  text.reserve(static_cast<std::size_t>(rows) * 64);
  char buffer[32];
  for (long i = 0; i < rows; ++i) {
    const int member = coin(rng) ? 1 : 0;
    text += member ? '1' : '0';
    for (const double shift : shifts) {
      const double score = 1.0 / (1.0 + std::exp(-(logit(rng) + shift * member - shift / 2)));
      // Shortest round-trip text, as pandas/Python write floats.
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, score);
      text += ',';
      text.append(buffer, result.ptr);
    }
    text += '\n';
  }
  std::ofstream(path, std::ios::binary) << text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void print_bounds(const AuditSummary& summary) {
  std::printf("    c_lb = %.6f", summary.c_lb);
  for (const auto& mia : summary.mias) {
    std::printf(", %s: {eps+c}_lb = %.6f (eps_tilde %.6f)", mia.model.c_str(), mia.eps_c_lb,
                mia.eps_tilde);
  }
  std::printf("\n");
}

void run(const std::string& path, const char* label, ThresholdMode mode) {
  SweepOptions options;
  options.mode = mode;
  const auto start = std::chrono::steady_clock::now();
  const ScoreTable table = panoramia::stats::read_score_csv(path);
  const double read = seconds_since(start);
  panoramia::stats::CheckOptions no_null;
  no_null.null_permutations = 0;
  const auto bare_start = std::chrono::steady_clock::now();
  panoramia::stats::summarize(table, options, no_null);
  const double bare = seconds_since(bare_start);
  const auto summarize_start = std::chrono::steady_clock::now();
  const AuditSummary summary = panoramia::stats::summarize(table, options);
  const double summarize = seconds_since(summarize_start);
  std::printf(
      "%-9s mode: read %.3f s + summarize %.3f s = %.3f s (%lld thresholds per column); the null "
      "check's %d permutations per column: %.3f s (%.1f%% of read + summarize)\n",
      label, read, summarize, read + summarize,
      static_cast<long long>(summary.columns.front().measurement.thresholds),
      summary.columns.front().null.permutations, summarize - bare,
      100.0 * (summarize - bare) / (read + summarize));
  print_bounds(summary);
}

}  // namespace

int main(int argc, char** argv) {
  const long rows = argc > 1 ? std::atol(argv[1]) : 1000000;
  const unsigned long seed = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("panoramia-stats-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "mia_baseline_scores.csv").string();
  int status = 0;
  try {
    const auto start = std::chrono::steady_clock::now();
    write_csv(path, rows, seed);
    std::printf("generated %ld rows x 3 score columns (%.1f MB) in %.3f s\n", rows,
                static_cast<double>(std::filesystem::file_size(path)) / 1e6, seconds_since(start));
    run(path, "all", ThresholdMode::kAll);
    run(path, "reference", ThresholdMode::kReference);
    // With PANORAMIA_BENCH_KEEP=FILE the generated CSV is copied there (scripts/bench-stats then
    // times the `panoramia stats` command on it).
    if (const char* keep = std::getenv("PANORAMIA_BENCH_KEEP"))
      std::filesystem::copy_file(path, keep, std::filesystem::copy_options::overwrite_existing);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "stats_bench: %s\n", error.what());
    status = 1;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return status;
}
