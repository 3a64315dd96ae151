#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace panoramia {
namespace {

int g_terminal_mode = -1;

bool stderr_is_terminal() {
  if (g_terminal_mode >= 0) return g_terminal_mode == 1;
  return isatty(STDERR_FILENO) == 1;
}

// Seconds between two lines when stderr is not a terminal.
constexpr double kLineInterval = 10.0;
constexpr double kBarInterval = 0.2;

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60,
                  total % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", total / 60, total % 60);
  return buf;
}

void ProgressDisplay::set_terminal_mode(int mode) {
  g_terminal_mode = mode;
}

ProgressDisplay::ProgressDisplay(std::shared_ptr<spdlog::logger> logger, std::string what,
                                 std::int64_t total)
    : logger_(std::move(logger)),
      what_(std::move(what)),
      total_(total),
      terminal_(stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressDisplay::~ProgressDisplay() {
  finish();
}

void ProgressDisplay::advance(std::int64_t n, const std::string& status) {
  done_ += n;
  if (!status.empty()) status_ = status;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (terminal_ ? kBarInterval : kLineInterval)) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressDisplay::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void ProgressDisplay::draw(bool final_line) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0;
  const double eta = (total_ > 0 && rate > 0) ? (total_ - done_) / rate : NAN;
  char counts[96];
  if (total_ > 0)
    std::snprintf(counts, sizeof counts, "%lld/%lld", static_cast<long long>(done_),
                  static_cast<long long>(total_));
  else
    std::snprintf(counts, sizeof counts, "%lld", static_cast<long long>(done_));
  char tail[160];
  std::snprintf(tail, sizeof tail, "%s %.1f/s elapsed %s%s%s", counts, rate,
                format_duration(elapsed).c_str(), final_line ? "" : " ETA ",
                final_line ? "" : format_duration(eta).c_str());
  const std::string status = status_.empty() ? "" : " " + status_;
  if (terminal_) {
    constexpr int kWidth = 28;
    const double fraction = total_ > 0 ? std::min(1.0, double(done_) / total_) : 0.0;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '=');
    if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
    std::fprintf(stderr, "\r\033[K%s [%s] %s%s%s", what_.c_str(), bar.c_str(), tail, status.c_str(),
                 final_line ? "\n" : "");
    std::fflush(stderr);
  } else if (final_line) {
    logger_->info("{}: done, {}{}", what_, tail, status);
  } else {
    logger_->info("{}: {}{}", what_, tail, status);
  }
}

}  // namespace panoramia
