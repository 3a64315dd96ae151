#pragma once
/// \file
/// Binomial p-values behind every PANORAMIA bound (docs/method.md §1.5, §1.6, §3.9).
///
/// All distribution work goes through Boost.Math (binomial survival function, pmf, quantile),
/// evaluated in double precision like scipy's Boost-backed `scipy.stats.binom`, so results match
/// the reference code. Every function is pure and thread-safe. Invalid arguments throw
/// `std::invalid_argument` with one sentence.

#include <cstdint>

namespace panoramia::stats {

/// σ(e) = 1 / (1 + exp(-e)): the largest precision a member guess can have at privacy level e.
double sigmoid(double e);

/// logit(p) = ln(p / (1 - p)), the inverse of `sigmoid`; ±infinity at p = 1 and p = 0.
double logit(double p);

/// P[Bin(r, q) ≥ v] for 0 ≤ q ≤ 1: 1 when v ≤ 0 (also when r == 0), 0 when v > r. Throws
/// `std::invalid_argument` when r < 0 or q is outside [0, 1].
double binomial_tail(std::int64_t r, std::int64_t v, double q);

/// The PANORAMIA p-value P[Bin(r, σ(e)) ≥ v] (reference `p_value`), capped at 1.
/// Returns 1 when v ≤ 0 or r == 0. Throws `std::invalid_argument` when r < 0, v > r, or e is NaN.
double pvalue(std::int64_t r, std::int64_t v, double e);

/// Steinke–Nasr–Jagielski (2023) p-value under (eps, delta)-DP for m audit slots (docs/method.md
/// §1.6): P[Bin(r, q) ≥ v] + α·2m·δ with q = σ(eps), α = max_i S_i / i over i = 1..v, S_i = P[v−i ≤
/// Bin(r, q) < v] (running-max rule of the reference), capped at 1. Throws `std::invalid_argument`
/// unless 0 ≤ v ≤ r ≤ m and 0 ≤ delta ≤ 1.
double pvalue_steinke(std::int64_t m, std::int64_t r, std::int64_t v, double eps, double delta);

/// (c, γ)-relaxed p-value of Appendix E (docs/method.md §3.9), corrected: the generator slack γ and
/// the DP δ combine as the union of failure events 1 − (1 − γ)(1 − δ) = γ + δ − γδ in Steinke's
/// term whenever γ > 0 or δ > 0. With γ = 0 this equals `pvalue_steinke`; with γ = δ = 0 it equals
/// `pvalue`. Throws `std::invalid_argument` unless 0 ≤ v ≤ r ≤ m, 0 ≤ delta ≤ 1 and 0 ≤ gamma ≤ 1.
double pvalue_relaxed(std::int64_t m, std::int64_t r, std::int64_t v, double eps, double delta,
                      double gamma);

/// The reference implementation's relaxed p-value, bug included: when δ = 0 it returns the plain
/// binomial tail and silently ignores γ (so (m=1000, r=100, v=90, p=0.05, γ=1e-4, δ=0) gives
/// 1.630823, the γ = 0 value). Kept only to document and test the difference; use `pvalue_relaxed`.
double pvalue_relaxed_reference(std::int64_t m, std::int64_t r, std::int64_t v, double eps,
                                double delta, double gamma);

/// scipy's `binom.isf(tail, r, q)`: the smallest k with P[Bin(r, q) > k] ≤ tail. Throws
/// `std::invalid_argument` when r < 0, q is outside [0, 1] or tail is outside (0, 1).
std::int64_t binomial_isf(double tail, std::int64_t r, double q);

/// "Theoretical maximum precision" at r guesses for a measured level e_max (docs/method.md §1.5):
/// binomial_isf(tail, r, σ(e_max)) / r, the (1 − tail) upper quantile of the correct guesses over
/// r. Returns NaN when r == 0.
double max_precision(std::int64_t r, double e_max, double tail = 0.025);

}  // namespace panoramia::stats
