#pragma once
/// \file
/// The PANORAMIA lower bound LB(r, v, level) = sup { e >= 0 : p-value(e) < level } (docs/method.md
/// §1.4–1.6, §3.9).
///
/// Pure, thread-safe functions. Invalid queries throw `std::invalid_argument` with one sentence.

#include <cstdint>
#include <functional>

namespace panoramia::stats {

/// How the supremum is located.
enum class BoundSearch {
  /// The reference `get_eps_audit` exactly (docs/method.md §1.5): lo = 0, hi = 1, hi += 1 while
  /// p(hi) < level, then exactly 30 bisections, returning lo (conservative: at most hi / 2^30
  /// below the supremum).
  kReference,
  /// The supremum itself: the incomplete-beta inverse when δ = γ = 0, otherwise a bracketed TOMS
  /// 748 root find to about 1e-12.
  kExact,
};

/// One bound query: r member guesses, v of them correct, among m audit slots.
struct BoundQuery {
  /// Audit slots. Only the δ/γ term uses it; 0 means "unknown" and is allowed only when δ = γ = 0.
  std::int64_t m = 0;
  /// Member guesses (TP + FP).
  std::int64_t r = 0;
  /// Correct member guesses (TP).
  std::int64_t v = 0;
  /// Test level β' in (0, 1), e.g. 0.05 / (2 · 100) for the reported measurements.
  double level = 0.05;
  /// DP δ of Steinke et al.; > 0 switches to the Steinke p-value (docs/method.md §1.6).
  double delta = 0;
  /// Closeness slack γ of Appendix E; > 0 switches to the corrected relaxed p-value (docs/method.md
  /// §3.9), even when δ = 0.
  double gamma = 0;
};

/// Throws `std::invalid_argument` unless 0 < level < 1, 0 <= delta, gamma <= 1 and 0 <= v <= r <= m
/// (the r <= m check is skipped when m == 0 and δ = γ = 0).
void validate(const BoundQuery& query);

/// LB for the query: the binomial p-value when δ = γ = 0, otherwise `pvalue_relaxed` (equal to
/// `pvalue_steinke` when γ = 0). Returns 0 when r == 0 or v == 0. Validates with `validate`.
double lower_bound(const BoundQuery& query, BoundSearch search = BoundSearch::kReference);

/// The docs/method.md §1.5 search on any p-value function of e that is increasing and reaches
/// `level`. Throws `std::domain_error` if p(e) stays below `level` for every integer e up to 10000.
double reference_search(const std::function<double(double)>& pvalue_at, double level);

/// The supremum of { e >= 0 : p(e) < level } to about 1e-12 (0 when p(0) >= level), by the same
/// integer bracketing as `reference_search` followed by TOMS 748. Same error contract as
/// `reference_search`.
double exact_search(const std::function<double(double)>& pvalue_at, double level);

}  // namespace panoramia::stats
