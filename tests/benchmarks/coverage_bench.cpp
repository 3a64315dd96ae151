// coverage_bench: simulated audits of mechanisms whose privacy is known exactly, to measure how
// often each printed bound exceeds the truth (coverage) and how close it gets (power).
// Usage: coverage_bench [--seed S] [--confidence C] m:trials [m:trials ...]
// e.g.   coverage_bench 1000:1000 10000:200 100000:20
// Prints one markdown table: per bound and m, the truth, the violation rate with its exact
// (Clopper–Pearson) 95% interval, and the power (mean bound / truth). The O(1) row with δ > 0
// plays a fifth of the trials (its p-value sums v binomial terms); the table shows the count.
#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "stats/fdp.hpp"
#include "stats/o1.hpp"
#include "stats/sweep.hpp"
#include "support/simulated_games.hpp"

namespace {

using namespace panoramia::stats;

constexpr double kDelta = 1e-5;
constexpr double kRrEps = 1.0;      // PANORAMIA games: randomized response / Laplace at ε = 1
constexpr double kCanaryEps = 2.0;  // O(1) / f-DP on randomized-response canaries
constexpr double kGaussMu = 2.0;    // O(1) / f-DP on Gaussian-mechanism canaries

using panoramia::testing::Game;
using panoramia::testing::gaussian;
using panoramia::testing::laplace;
using panoramia::testing::randomized_response;
using panoramia::testing::randomized_response_mu;

struct Row {
  std::string bound, game;
  double truth;
  std::function<Game(std::int64_t, std::mt19937_64&)> play;
  std::function<double(const Game&)> measure;
  int cost = 1;  ///< the row plays trials / cost games (Steinke's δ term is O(v) per p-value)
};

std::vector<Row> rows(double confidence) {
  SweepOptions sweep;
  sweep.confidence = confidence;
  // The exact search: the reference one's value to ~1e-8 (it stops 2^-30 short), in half the time.
  O1Options o1;
  o1.confidence = confidence;
  o1.delta = kDelta;
  o1.search = BoundSearch::kExact;
  O1Options o1_pure = o1;
  o1_pure.delta = 0;
  FdpOptions fdp;
  fdp.confidence = confidence;
  fdp.delta = kDelta;
  const double gauss_eps = gdp_epsilon(kGaussMu, kDelta);
  auto rr = [](double e) {
    return [e](std::int64_t m, auto& rng) { return randomized_response(m, e, rng); };
  };
  auto gauss = [](std::int64_t m, auto& rng) { return gaussian(m, kGaussMu, rng); };
  return {
      {"PANORAMIA {ε}_lb (c = 0)", "randomized response", kRrEps, rr(kRrEps),
       [=](const Game& g) { return measure(g.score, g.member, sweep).bound; }},
      {"PANORAMIA {ε}_lb (c = 0)", "Laplace mechanism", kRrEps,
       [](std::int64_t m, auto& rng) { return laplace(m, kRrEps, rng); },
       [=](const Game& g) { return measure(g.score, g.member, sweep).bound; }},
      {"O(1) ε_lb, Bonferroni, δ = 0", "randomized response", kCanaryEps, rr(kCanaryEps),
       [=](const Game& g) { return o1_audit(g.loss(), g.member, o1_pure).eps_lb; }},
      {"O(1) ε_lb, Bonferroni, δ = 1e-5", "Gaussian μ = 2", gauss_eps, gauss,
       [=](const Game& g) { return o1_audit(g.loss(), g.member, o1).eps_lb; }, 5},
      {"f-DP μ_lb, Bonferroni", "Gaussian μ = 2", kGaussMu, gauss,
       [=](const Game& g) { return fdp_audit(g.loss(), g.member, fdp).mu_lb; }},
      {"f-DP ε_lb, Bonferroni, δ = 1e-5", "Gaussian μ = 2", gauss_eps, gauss,
       [=](const Game& g) { return fdp_audit(g.loss(), g.member, fdp).eps_lb; }},
      // Randomized response at ε is exactly μ-GDP with μ = 2Φ⁻¹(σ(ε)) (the curves touch at the
      // corner), so μ_lb must cover it, while ε_lb (a GDP-shaped ε) need not cover ε.
      {"f-DP μ_lb, Bonferroni", "randomized response", randomized_response_mu(kCanaryEps),
       rr(kCanaryEps), [=](const Game& g) { return fdp_audit(g.loss(), g.member, fdp).mu_lb; }},
      {"f-DP ε_lb, Bonferroni, δ = 1e-5 (not GDP-shaped)", "randomized response", kCanaryEps,
       rr(kCanaryEps), [=](const Game& g) { return fdp_audit(g.loss(), g.member, fdp).eps_lb; }},
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;
  double confidence = 0.95;
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--confidence" && i + 1 < argc) {
      confidence = std::strtod(argv[++i], nullptr);
    } else if (a.find(':') != std::string::npos) {
      sizes.emplace_back(std::stoll(a.substr(0, a.find(':'))),
                         std::stoll(a.substr(a.find(':') + 1)));
    } else {
      std::fprintf(stderr, "usage: coverage_bench [--seed S] [--confidence C] m:trials ...\n");
      return 2;
    }
  }
  if (sizes.empty()) sizes = {{1000, 200}, {10000, 50}, {100000, 10}};
  std::printf("| bound | game | m | truth | trials | violations | rate [95%% CI] | power | s |\n");
  std::printf("|---|---|---:|---:|---:|---:|---|---:|---:|\n");
  std::vector<Row> all = rows(confidence);
  for (std::size_t k = 0; k < all.size(); ++k) {
    for (const auto& [m, requested] : sizes) {
      const std::int64_t trials = std::max<std::int64_t>(1, requested / all[k].cost);
      const auto start = std::chrono::steady_clock::now();
      std::mt19937_64 rng(seed * 1000003u + k * 7919u + static_cast<std::uint64_t>(m));
      std::int64_t violations = 0;
      double sum = 0;
      for (std::int64_t t = 0; t < trials; ++t) {
        const double b = all[k].measure(all[k].play(m, rng));
        violations += b > all[k].truth;
        sum += b;
      }
      using boost::math::binomial_distribution;
      const double lo = binomial_distribution<>::find_lower_bound_on_p(
          static_cast<double>(trials), static_cast<double>(violations), 0.025);
      const double hi = binomial_distribution<>::find_upper_bound_on_p(
          static_cast<double>(trials), static_cast<double>(violations), 0.025);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("| %s | %s | %lld | %.4f | %lld | %lld | %.3f [%.3f, %.3f] | %.3f | %.1f |\n",
                  all[k].bound.c_str(), all[k].game.c_str(), static_cast<long long>(m),
                  all[k].truth, static_cast<long long>(trials), static_cast<long long>(violations),
                  static_cast<double>(violations) / trials, lo, hi, sum / trials / all[k].truth,
                  secs);
      std::fflush(stdout);
    }
  }
  return 0;
}
