#pragma once
// Membership games of mechanisms whose privacy is known exactly, played with a seeded generator:
// what the coverage tests (tests/stats/test_coverage.cpp) and the coverage benchmark
// (tests/benchmarks/coverage_bench.cpp) measure the bounds on.

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace panoramia::testing {

struct Game {
  std::vector<double> score;  // higher = more member-like
  std::vector<int> member;
  /// The scores as losses (lower = more member-like), the form the one-run audits take.
  std::vector<double> loss() const {
    std::vector<double> out;
    for (double s : score) out.push_back(-s);
    return out;
  }
};

inline double sigmoid(double x) {
  return 1 / (1 + std::exp(-x));
}

/// Randomized response on each slot's membership bit: the score is the bit w.p. σ(ε), else its
/// flip. Exactly ε-DP per slot, and every member guess is right with probability exactly σ(ε).
inline Game randomized_response(std::int64_t m, double eps, std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5), keep(sigmoid(eps));
  Game g;
  for (std::int64_t i = 0; i < m; ++i) {
    const int b = coin(rng) ? 1 : 0;
    g.member.push_back(b);
    g.score.push_back(keep(rng) ? b : 1 - b);
  }
  return g;
}

/// The Laplace mechanism on the bit (sensitivity 1, scale 1/ε), squashed into (0, 1) by σ(y − 1):
/// at every reference threshold τ >= 0.5 (the cut-offs y >= 1) the precision is exactly σ(ε), so
/// a bound can get close to ε.
inline Game laplace(std::int64_t m, double eps, std::mt19937_64& rng) {
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

/// The Gaussian mechanism: member ~ N(μ, 1), non-member ~ N(0, 1), exactly μ-GDP per canary; the
/// score order is the likelihood-ratio order, so top-k guesses are the ideal attacker's.
inline Game gaussian(std::int64_t m, double mu, std::mt19937_64& rng) {
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

/// Canary losses for the one-run audits: `m` coins, loss = offset + N(0, 1) − shift · member, so
/// members have lower losses on average (by `shift` standard deviations).
inline void canary_losses(std::int64_t m, double shift, double offset, std::vector<double>& loss,
                          std::vector<int>& member, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  std::normal_distribution<double> noise(0, 1);
  loss.clear();
  member.clear();
  for (std::int64_t i = 0; i < m; ++i) {
    member.push_back(coin(rng) ? 1 : 0);
    loss.push_back(offset + noise(rng) - shift * member.back());
  }
}

/// The GDP parameter of randomized response at ε: 2Φ⁻¹(σ(ε)).
inline double randomized_response_mu(double eps) {
  return 2 * boost::math::quantile(boost::math::normal_distribution<double>(), sigmoid(eps));
}

}  // namespace panoramia::testing
