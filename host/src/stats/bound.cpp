#include "stats/bound.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/tools/toms748_solve.hpp>

#include "stats/binomial.hpp"
#include "stats/policy.hpp"

namespace panoramia::stats {
namespace {

constexpr int kReferenceBisections = 30;
constexpr double kMaxBracket = 10000.0;
constexpr double kExactTolerance = 1e-12;

// Integer expansion of docs/method.md §1.5 step 2: returns hi, the first integer >= 1 with
// p(hi) >= level.
double expand_bracket(const std::function<double(double)>& pvalue_at, double level) {
  double hi = 1.0;
  while (pvalue_at(hi) < level) {
    hi += 1.0;
    if (hi > kMaxBracket) {
      throw std::domain_error("the p-value stays below the level for every e up to 10000");
    }
  }
  return hi;
}

// δ = γ = 0: P[Bin(r, q) >= v] = I_q(v, r - v + 1) (regularized incomplete beta), continuous and
// strictly increasing in q, so the supremum is logit(q*) with I_{q*} = level, clamped at 0 because
// e >= 0. Taking 1 - q* from Boost directly keeps the logit accurate when q* is close to 1.
double closed_form_bound(std::int64_t r, std::int64_t v, double level) {
  double one_minus_q = 0.0;
  const double q = boost::math::ibeta_inv(static_cast<double>(v), static_cast<double>(r - v + 1),
                                          level, &one_minus_q, StatsPolicy());
  if (q <= 0.5) return 0.0;
  return std::max(0.0, std::log(q) - std::log(one_minus_q));
}

}  // namespace

void validate(const BoundQuery& query) {
  if (!(query.level > 0.0 && query.level < 1.0)) {
    throw std::invalid_argument("the test level must lie strictly between 0 and 1, got " +
                                std::to_string(query.level));
  }
  if (!(query.delta >= 0.0 && query.delta <= 1.0) || !(query.gamma >= 0.0 && query.gamma <= 1.0)) {
    throw std::invalid_argument(
        "delta and gamma must lie in [0, 1], got delta=" + std::to_string(query.delta) +
        " and gamma=" + std::to_string(query.gamma));
  }
  if (query.v < 0 || query.v > query.r) {
    throw std::invalid_argument("counts must satisfy 0 <= v <= r, got r=" +
                                std::to_string(query.r) + " and v=" + std::to_string(query.v));
  }
  const bool m_unknown = query.m == 0 && query.delta == 0.0 && query.gamma == 0.0;
  if (query.m < 0 || (!m_unknown && query.r > query.m)) {
    throw std::invalid_argument("the r=" + std::to_string(query.r) +
                                " guesses exceed the m=" + std::to_string(query.m) +
                                " audit slots (m may be 0 only when delta and gamma are 0)");
  }
}

double reference_search(const std::function<double(double)>& pvalue_at, double level) {
  double lo = 0.0;
  double hi = expand_bracket(pvalue_at, level);
  for (int step = 0; step < kReferenceBisections; ++step) {
    const double mid = (lo + hi) / 2.0;
    if (pvalue_at(mid) < level) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

double exact_search(const std::function<double(double)>& pvalue_at, double level) {
  if (pvalue_at(0.0) >= level) return 0.0;
  const double hi = expand_bracket(pvalue_at, level);
  const double lo =
      hi - 1.0;  // p(lo) < level: either lo == 0 (checked above) or the expansion passed it
  const auto excess = [&](double e) { return pvalue_at(e) - level; };
  const auto close_enough = [](double a, double b) {
    return std::abs(b - a) <= kExactTolerance * std::max(1.0, std::abs(a));
  };
  std::uintmax_t iterations = 200;
  const auto bracket = boost::math::tools::toms748_solve(excess, lo, hi, excess(lo), excess(hi),
                                                         close_enough, iterations, StatsPolicy());
  // The lower end keeps p < level, so the result stays on the conservative side like the reference.
  return bracket.first;
}

double lower_bound(const BoundQuery& query, BoundSearch search) {
  validate(query);
  if (query.r == 0 || query.v == 0) return 0.0;
  const bool plain = query.delta == 0.0 && query.gamma == 0.0;
  if (plain && search == BoundSearch::kExact)
    return closed_form_bound(query.r, query.v, query.level);

  std::function<double(double)> pvalue_at;
  if (plain) {
    pvalue_at = [&](double e) { return pvalue(query.r, query.v, e); };
  } else {
    pvalue_at = [&](double e) {
      return pvalue_relaxed(query.m, query.r, query.v, e, query.delta, query.gamma);
    };
  }
  return search == BoundSearch::kReference ? reference_search(pvalue_at, query.level)
                                           : exact_search(pvalue_at, query.level);
}

}  // namespace panoramia::stats
