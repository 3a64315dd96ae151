#include "stats/fdp.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/tools/toms748_solve.hpp>

#include "stats/policy.hpp"

namespace panoramia::stats {
namespace {

using Normal = boost::math::normal_distribution<double, StatsPolicy>;

constexpr double kMuTolerance = 1e-9;

double phi(double z) {
  return boost::math::cdf(Normal(), z);
}

void check_mu(double mu) {
  if (!(mu >= 0 && mu <= kFdpMuMax))
    throw std::invalid_argument("the GDP parameter mu must lie in [0, " +
                                std::to_string(kFdpMuMax) + "], got " + std::to_string(mu));
}

void check_query(std::int64_t m, std::int64_t r, std::int64_t v, double level) {
  if (m < 1 || v < 0 || v > r || r > m)
    throw std::invalid_argument(
        "f-DP counts must satisfy 0 <= v <= r <= m and m >= 1, got m=" + std::to_string(m) +
        ", r=" + std::to_string(r) + ", v=" + std::to_string(v));
  if (!(level > 0 && level < 1))
    throw std::invalid_argument("the f-DP test level must lie strictly between 0 and 1, got " +
                                std::to_string(level));
}

// The recursion, in units of "per canary" (divided by m). At level i the state is
//   correct = E[C·1{C ≥ i}] / m,  wrong = E[(r − C)·1{C ≥ i}] / m,
// starting from mass `level` at C = v. Adding mass p at C = i adds (r − i)·p/m to `wrong` and
// i·p/m to `correct`; constraint i + 1 asks wrong(i) ≥ g(correct(i + 1)).
// Why adding the least mass at each step gives the least total: by induction from the top, any
// distribution meeting the constraints has wrong(i) ≥ max(wrong(i + 1), g(correct(i + 1))), so
// at least the greedy `wrong` at every level, hence at least its `correct` too, because the
// weights i / (r − i) grow with i (Abel summation over the increments). And starting from exactly
// `level` at C = v is the worst case: moving mass from above v down to v, or the excess over
// `level` from v to v − 1, lowers every `correct` and raises every `wrong` it touches.
// Stops early once the total exceeds `stop`, or when no more mass is needed (a fixed point).
// Returns correct + wrong at level 0, i.e. r/m times the total probability.
double recursion_total(std::int64_t m, std::int64_t r, std::int64_t v, double level, double mu,
                       double stop) {
  const double md = static_cast<double>(m);
  double correct = level * static_cast<double>(v) / md;
  double wrong = level * static_cast<double>(r - v) / md;
  for (std::int64_t i = v - 1; i >= 0; --i) {
    // Beyond 1 per canary the total already exceeds any cap; clamp to keep g defined.
    const double need = gdp_blowup_inverse(std::min(correct, 1.0), mu);
    if (need <= wrong) break;
    correct += (need - wrong) * static_cast<double>(i) / static_cast<double>(r - i);
    wrong = need;
    if (correct + wrong > stop) break;
  }
  return correct + wrong;
}

// Indices sorted by loss ascending, ties by index (the order of `o1_guesses`), and the prefix
// counts that give (r, v) of any (k+, k−) without sorting again.
struct GuessCounter {
  std::vector<std::int64_t> members_below;     // members among the k lowest losses, k = 0..m
  std::vector<std::int64_t> nonmembers_above;  // non-members among the k highest losses

  GuessCounter(const std::vector<double>& loss, const std::vector<int>& member) {
    std::vector<std::size_t> order(loss.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
    const std::size_t m = loss.size();
    members_below.assign(m + 1, 0);
    nonmembers_above.assign(m + 1, 0);
    for (std::size_t k = 0; k < m; ++k) {
      members_below[k + 1] = members_below[k] + member[order[k]];
      nonmembers_above[k + 1] = nonmembers_above[k] + 1 - member[order[m - 1 - k]];
    }
  }
  std::int64_t m() const { return static_cast<std::int64_t>(members_below.size()) - 1; }
  std::int64_t correct(std::int64_t k_plus, std::int64_t k_minus) const {
    return members_below[k_plus] + nonmembers_above[k_minus];
  }
};

FdpResult evaluate(const GuessCounter& counter, std::int64_t k_plus, std::int64_t k_minus,
                   double level) {
  FdpResult out;
  out.m = counter.m();
  if (k_plus < 0 || k_minus < 0 || k_plus + k_minus > out.m)
    throw std::invalid_argument("f-DP: k+ = " + std::to_string(k_plus) +
                                " and k- = " + std::to_string(k_minus) + " do not fit in " +
                                std::to_string(out.m) + " canaries");
  out.k_plus = k_plus;
  out.k_minus = k_minus;
  out.r = k_plus + k_minus;
  out.v = counter.correct(k_plus, k_minus);
  out.level = level;
  out.mu_lb = fdp_mu_lower_bound(out.m, out.r, out.v, level);
  return out;
}

// The pair with the largest μ_lb (the first one on ties). A pair that does not reject the best μ
// so far cannot beat it (rejection is monotone in μ), so only the others are searched.
FdpResult best_over(const GuessCounter& counter,
                    const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs, double level) {
  FdpResult best;
  bool first = true;
  for (const auto& [kp, km] : pairs) {
    if (!first) {
      const std::int64_t r = kp + km, v = counter.correct(kp, km);
      if (!fdp_rejects(counter.m(), r, v, level, best.mu_lb)) continue;
    }
    FdpResult candidate = evaluate(counter, kp, km, level);
    if (first || candidate.mu_lb > best.mu_lb) best = candidate;
    first = false;
  }
  best.tests = static_cast<std::int64_t>(pairs.size());
  return best;
}

FdpResult split_audit(const std::vector<double>& loss, const std::vector<int>& member,
                      const FdpOptions& o, double alpha) {
  // The same split as the O(1) audit for the same seed.
  const auto split = split_canaries(loss, member, o.split_seed, "f-DP");
  const GuessCounter select(split.select_loss, split.select_member),
      assess(split.assess_loss, split.assess_member);
  const auto pairs = guess_count_pairs(o.grid, select.m(), "f-DP");
  const FdpResult chosen = best_over(select, pairs, alpha);
  const auto [kp, km] = scale_guess_counts(split, chosen.k_plus, chosen.k_minus);
  return evaluate(assess, kp, km, alpha);
}

}  // namespace

double gdp_blowup_inverse(double x, double mu) {
  if (!(x >= 0 && x <= 1) || !(mu >= 0))
    throw std::invalid_argument("the GDP blow-up inverse needs 0 <= x <= 1 and mu >= 0");
  if (x == 0 || x == 1 || mu == 0) return x;
  if (std::isinf(mu)) return 0;
  return phi(boost::math::quantile(Normal(), x) - mu);
}

double gdp_delta(double mu, double eps) {
  check_mu(mu);
  if (!(eps >= 0) || std::isinf(eps))
    throw std::invalid_argument("the GDP conversion needs a finite eps >= 0, got " +
                                std::to_string(eps));
  if (mu == 0) return 0;
  const double a = eps / mu;
  // e^ε·Φ(·) in log space: e^ε alone overflows long before the product does.
  const double tail = phi(-a - mu / 2);
  const double second = tail > 0 ? std::exp(eps + std::log(tail)) : 0.0;
  return std::max(0.0, phi(-a + mu / 2) - second);
}

double gdp_epsilon(double mu, double delta) {
  check_mu(mu);
  if (!(delta > 0 && delta < 1))
    throw std::invalid_argument("the GDP conversion needs 0 < delta < 1, got " +
                                std::to_string(delta));
  if (mu == 0 || gdp_delta(mu, 0) <= delta) return 0;
  // δ(ε) <= Φ(−ε/μ + μ/2), which equals delta at hi, so the root lies in [0, hi].
  const double hi = mu * (boost::math::quantile(boost::math::complement(Normal(), delta)) + mu / 2);
  if (gdp_delta(mu, hi) > delta) return hi;  // rounding at the bracket end; hi is a valid answer
  std::uintmax_t iterations = 200;
  const auto [lo_end, hi_end] =
      boost::math::tools::toms748_solve([&](double e) { return gdp_delta(mu, e) - delta; }, 0.0, hi,
                                        boost::math::tools::eps_tolerance<double>(40), iterations);
  (void)hi_end;
  return lo_end;  // δ(lo_end) >= delta: never above the true ε
}

double fdp_required_mass(std::int64_t m, std::int64_t r, std::int64_t v, double level, double mu) {
  check_query(m, r, v, level);
  if (!(mu >= 0) || std::isinf(mu))
    throw std::invalid_argument("the GDP parameter mu must be finite and >= 0");
  if (r == 0 || v == 0) return level;
  const double total = recursion_total(m, r, v, level, mu, INFINITY);
  return total * static_cast<double>(m) / static_cast<double>(r);
}

bool fdp_rejects(std::int64_t m, std::int64_t r, std::int64_t v, double level, double mu) {
  check_query(m, r, v, level);
  if (!(mu >= 0) || std::isinf(mu))
    throw std::invalid_argument("the GDP parameter mu must be finite and >= 0");
  if (r == 0 || v == 0) return false;
  const double cap = static_cast<double>(r) / static_cast<double>(m);
  return recursion_total(m, r, v, level, mu, cap) > cap;
}

double fdp_mu_lower_bound(std::int64_t m, std::int64_t r, std::int64_t v, double level) {
  check_query(m, r, v, level);
  if (r == 0 || v == 0 || !fdp_rejects(m, r, v, level, 0)) return 0;
  double lo = 0, hi = 1;
  while (fdp_rejects(m, r, v, level, hi)) {
    lo = hi;
    if (hi == kFdpMuMax) return kFdpMuMax;  // saturated
    hi = std::min(2 * hi, kFdpMuMax);
  }
  while (hi - lo > kMuTolerance) {
    const double mid = (lo + hi) / 2;
    (fdp_rejects(m, r, v, level, mid) ? lo : hi) = mid;
  }
  return lo;
}

FdpResult fdp_audit(const std::vector<double>& loss, const std::vector<int>& member,
                    const FdpOptions& o) {
  if (loss.size() != member.size() || loss.empty())
    throw std::invalid_argument("f-DP: losses and inclusion bits must be non-empty and aligned");
  for (std::size_t i = 0; i < loss.size(); ++i) {
    if (std::isnan(loss[i])) throw std::invalid_argument("f-DP: a canary loss is NaN");
    if (member[i] != 0 && member[i] != 1)
      throw std::invalid_argument("f-DP: inclusion bits must be 0 or 1");
  }
  if (!(o.confidence > 0 && o.confidence < 1))
    throw std::invalid_argument("f-DP: confidence must be in (0, 1)");
  if (!(o.delta > 0 && o.delta < 1))
    throw std::invalid_argument("f-DP: delta must be in (0, 1) to convert mu to epsilon");
  const double alpha = 1 - o.confidence;
  FdpResult out;
  switch (o.selection) {
    case O1Selection::kFixed:
      out = evaluate(GuessCounter(loss, member), o.k_plus, o.k_minus, alpha);
      break;
    case O1Selection::kBonferroni: {
      const GuessCounter counter(loss, member);
      const auto pairs = guess_count_pairs(o.grid, counter.m(), "f-DP");
      out = best_over(counter, pairs, alpha / static_cast<double>(pairs.size()));
      break;
    }
    case O1Selection::kSplit:
      out = split_audit(loss, member, o, alpha);
      break;
    case O1Selection::kReference:
      throw std::invalid_argument(
          "f-DP: the reference selection has no f-DP counterpart; use fixed, bonferroni or split");
  }
  out.saturated = out.mu_lb >= kFdpMuMax;
  out.delta = o.delta;
  out.eps_lb = gdp_epsilon(out.mu_lb, o.delta);
  return out;
}

}  // namespace panoramia::stats
