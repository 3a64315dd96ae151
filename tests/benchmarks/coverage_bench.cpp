// coverage_bench: simulated audits of mechanisms whose privacy is known exactly, to measure how
// often each printed bound exceeds the truth (coverage) and how close it gets (power).
// Usage: coverage_bench [--seed S] [--confidence C] m:trials [m:trials ...]
// e.g.   coverage_bench 1000:1000 10000:200 100000:20
// Prints one markdown table: per bound and m, the truth, the violation rate with its exact
// (Clopper–Pearson) 95% interval, and the power (mean bound / truth). The O(1) row with δ > 0
// plays a fifth of the trials (its p-value sums v binomial terms); the table shows the count.
#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
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

namespace {

using namespace panoramia::stats;

constexpr double kDelta = 1e-5;
constexpr double kRrEps = 1.0;      // PANORAMIA games: randomized response / Laplace at ε = 1
constexpr double kCanaryEps = 2.0;  // O(1) / f-DP on randomized-response canaries
constexpr double kGaussMu = 2.0;    // O(1) / f-DP on Gaussian-mechanism canaries

struct Game {
  std::vector<double> score;  // higher = more member-like
  std::vector<int> member;
};

double sigmoid(double x) {
  return 1 / (1 + std::exp(-x));
}

// Randomized response on each slot's membership bit: the score is the bit w.p. σ(ε), else its
// flip. Exactly ε-DP for each slot.
Game randomized_response(std::int64_t m, double eps, std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5), keep(sigmoid(eps));
  Game g;
  for (std::int64_t i = 0; i < m; ++i) {
    const int b = coin(rng) ? 1 : 0;
    g.member.push_back(b);
    g.score.push_back(keep(rng) ? b : 1 - b);
  }
  return g;
}

// Laplace mechanism on the bit (sensitivity 1, scale 1/ε), squashed into (0, 1) by σ(y − 1) so
// the reference thresholds τ >= 0.5 are the cut-offs y >= 1, where the precision is exactly σ(ε).
Game laplace(std::int64_t m, double eps, std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5);
  std::exponential_distribution<double> expo(eps);
  Game g;
  for (std::int64_t i = 0; i < m; ++i) {
    const int b = coin(rng) ? 1 : 0;
    const double noise = coin(rng) ? expo(rng) : -expo(rng);
    g.member.push_back(b);
    g.score.push_back(sigmoid(b + noise - 1));
  }
  return g;
}

// The Gaussian mechanism: member ~ N(μ, 1), non-member ~ N(0, 1); exactly μ-GDP per canary.
Game gaussian(std::int64_t m, double mu, std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5);
  std::normal_distribution<double> noise(0, 1);
  Game g;
  for (std::int64_t i = 0; i < m; ++i) {
    const int b = coin(rng) ? 1 : 0;
    g.member.push_back(b);
    g.score.push_back(mu * b + noise(rng));
  }
  return g;
}

// The GDP parameter of randomized response at ε: 2Φ⁻¹(σ(ε)).
double rr_mu(double eps) {
  return 2 * boost::math::quantile(boost::math::normal_distribution<double>(), sigmoid(eps));
}

std::vector<double> as_loss(const std::vector<double>& score) {
  std::vector<double> loss;
  for (double s : score) loss.push_back(-s);
  return loss;
}

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
       [=](const Game& g) { return o1_audit(as_loss(g.score), g.member, o1_pure).eps_lb; }},
      {"O(1) ε_lb, Bonferroni, δ = 1e-5", "Gaussian μ = 2", gauss_eps, gauss,
       [=](const Game& g) { return o1_audit(as_loss(g.score), g.member, o1).eps_lb; }, 5},
      {"f-DP μ_lb, Bonferroni", "Gaussian μ = 2", kGaussMu, gauss,
       [=](const Game& g) { return fdp_audit(as_loss(g.score), g.member, fdp).mu_lb; }},
      {"f-DP ε_lb, Bonferroni, δ = 1e-5", "Gaussian μ = 2", gauss_eps, gauss,
       [=](const Game& g) { return fdp_audit(as_loss(g.score), g.member, fdp).eps_lb; }},
      // Randomized response at ε is exactly μ-GDP with μ = 2Φ⁻¹(σ(ε)) (the curves touch at the
      // corner), so μ_lb must cover it, while ε_lb (a GDP-shaped ε) need not cover ε.
      {"f-DP μ_lb, Bonferroni", "randomized response", rr_mu(kCanaryEps), rr(kCanaryEps),
       [=](const Game& g) { return fdp_audit(as_loss(g.score), g.member, fdp).mu_lb; }},
      {"f-DP ε_lb, Bonferroni, δ = 1e-5 (not GDP-shaped)", "randomized response", kCanaryEps,
       rr(kCanaryEps),
       [=](const Game& g) { return fdp_audit(as_loss(g.score), g.member, fdp).eps_lb; }},
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
