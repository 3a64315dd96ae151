#pragma once
/// \file
/// The f-DP one-run audit of Mahloujifar, Melis and Chaudhuri ("Auditing f-Differential Privacy in
/// One Run", ICML 2025), for the Gaussian-DP family of trade-off curves.
///
/// The game is the one of the O(1) audit (`o1.hpp`): m canaries, each in the training set with
/// probability 1/2; the auditor guesses "member" for the k+ lowest-loss canaries and "non-member"
/// for the k− highest-loss ones, r = k+ + k− guesses, v of them correct. Instead of Steinke's
/// (ε, δ) binomial argument, the test asks whether a μ-GDP mechanism can make v or more correct
/// guesses out of r with probability at least `level`; the largest μ for which it cannot is the
/// lower bound μ_lb.
///
/// The bound, per canary j and for every i = 1..v: GDP bounds the probability that guess j is
/// right while at least i − 1 others are right by the blow-up Φ(Φ⁻¹(x) + μ) of the probability x
/// that it is wrong in the same situation. Summed over canaries, with C the number of correct
/// guesses:  E[(r − C)·1{C ≥ i−1}] / m ≥ g(E[C·1{C ≥ i}] / m),  g(x) = Φ(Φ⁻¹(x) − μ).
/// If P[C ≥ v] ≥ level, the cheapest way to satisfy these constraints puts mass `level` at C = v
/// and, walking down from i = v − 1 to 0, only the missing "wrong" mass at C = i (the paper's
/// recursion, `fdp_required_mass`). If even that needs a total probability above 1, no μ-GDP
/// mechanism reaches P[C ≥ v] ≥ level and μ is rejected at that level.
///
/// **Scope of ε_lb.** Rejecting μ-GDP rejects one trade-off curve, not (ε(μ, δ), δ)-DP: ε_lb is
/// a lower bound on the target's ε at δ only when its trade-off curve is Gaussian-shaped (DP-SGD in
/// its usual regime, the Gaussian mechanism). For a mechanism of another shape (e.g. randomized
/// response) ε_lb can exceed the true ε; use the O(1) audit for a shape-free (ε, δ) bound. μ_lb
/// itself is always a valid lower bound on the smallest μ for which the target is μ-GDP.
///
/// Selection modes (`O1Selection`, accounted for as in the O(1) audit): kFixed (level =
/// 1 − confidence), kBonferroni (every (k+, k−) pair of the grid, level = (1 − confidence) /
/// pairs), kSplit (the pair is chosen on one half of the canaries, evaluated once on the other
/// half). kReference has no f-DP counterpart and is refused.
///
/// Every function is pure and thread-safe. Invalid arguments throw `std::invalid_argument` with
/// one sentence.

#include <cstdint>
#include <vector>

#include "stats/o1.hpp"

namespace panoramia::stats {

/// The μ search bracket: μ_lb never exceeds this (see `FdpResult::saturated`). The GDP → (ε, δ)
/// conversion is accurate in double precision for μ up to here (ε ≤ ~400 for δ ≥ 1e-18).
inline constexpr double kFdpMuMax = 20.0;

struct FdpOptions {
  O1Selection selection = O1Selection::kBonferroni;  ///< kFixed, kBonferroni or kSplit
  double confidence = 0.95;
  double delta = 1e-5;       ///< δ at which μ_lb is converted to ε_lb; in (0, 1)
  std::int64_t k_plus = 0;   ///< kFixed only
  std::int64_t k_minus = 0;  ///< kFixed only
  /// kBonferroni / kSplit: candidate k+ and k− as fractions of the canaries (as `O1Options`).
  std::vector<double> grid = {0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5};
  std::uint64_t split_seed = 0;  ///< kSplit: which canaries form the selection half
};

struct FdpResult : OneRunGuesses {
  double mu_lb = 0;        ///< the largest μ whose μ-GDP is rejected at `level` (0 when none is)
  double eps_lb = 0;       ///< gdp_epsilon(mu_lb, delta); see the scope note in the file comment
  double delta = 0;        ///< the δ of eps_lb
  bool saturated = false;  ///< mu_lb reached kFdpMuMax: the true bound may be larger
};

/// δ(ε) of μ-GDP: Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2) (Dong, Roth and Su 2022);
/// 0 when μ = 0. Requires 0 ≤ μ ≤ kFdpMuMax and ε ≥ 0, both finite.
double gdp_delta(double mu, double eps);

/// The smallest ε ≥ 0 with gdp_delta(mu, ε) ≤ delta, rounded down (to ~1e-12 relative), so that a
/// lower bound on μ stays a lower bound; 0 when μ = 0 or delta ≥ gdp_delta(mu, 0).
/// Requires 0 ≤ μ ≤ kFdpMuMax and 0 < delta < 1.
double gdp_epsilon(double mu, double delta);

/// g(x) = Φ(Φ⁻¹(x) − μ), the inverse of the μ-GDP blow-up x ↦ Φ(Φ⁻¹(x) + μ): the least
/// probability an event can have on one neighbour when it has probability x on the other.
/// g(0) = 0, g(1) = 1. Requires 0 ≤ x ≤ 1 and μ ≥ 0.
double gdp_blowup_inverse(double x, double mu);

/// The least total probability a μ-GDP mechanism needs to have P[C ≥ v] ≥ level, where C counts
/// the correct guesses among r guesses on m canaries (the recursion in the file comment): the
/// paper's r[0] + h[0] scaled by m / r. μ-GDP is rejected at `level` exactly when this exceeds 1.
/// Returns `level` when r == 0 or v == 0. Requires m ≥ 1, 0 ≤ v ≤ r ≤ m, 0 < level < 1 and
/// 0 ≤ μ, finite.
double fdp_required_mass(std::int64_t m, std::int64_t r, std::int64_t v, double level, double mu);

/// True when μ-GDP is rejected at `level` by (m, r, v): `fdp_required_mass(...) > 1`, computed with
/// early exits. Monotone: a rejected μ implies every smaller μ is rejected. Same contract.
bool fdp_rejects(std::int64_t m, std::int64_t r, std::int64_t v, double level, double mu);

/// μ_lb = sup { μ in [0, kFdpMuMax] : fdp_rejects(m, r, v, level, μ) }, 0 when μ = 0 is not
/// rejected (always for r == 0 or v == 0), by bisection to 1e-9 and rounded down (the returned μ
/// is itself rejected). Same contract as `fdp_required_mass`.
double fdp_mu_lower_bound(std::int64_t m, std::int64_t r, std::int64_t v, double level);

/// The f-DP audit of canary losses (lower = more member-like) and their inclusion bits, with the
/// guesses of `o1_guesses`. Throws std::invalid_argument for empty or mismatched inputs, NaN
/// losses, bits other than 0/1, kReference, or options outside their ranges.
FdpResult fdp_audit(const std::vector<double>& loss, const std::vector<int>& member,
                    const FdpOptions& options);

}  // namespace panoramia::stats
