#include "stats/checks.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "stats/binomial.hpp"
#include "stats/splitmix.hpp"

namespace panoramia::stats {
namespace {

double log_choose(std::int64_t n, std::int64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}

// Members among `t` rows drawn without replacement from `rows` rows, `members` of them members:
// a hypergeometric draw by inversion, chopping down from the mode (alternately above and below
// it, with the pmf ratios), so a draw costs O(standard deviation) steps. Small draws take t
// sequential Bernoulli steps instead (exact).
std::int64_t hypergeometric(std::int64_t t, std::int64_t members, std::int64_t rows,
                            SplitMix64& rng) {
  const std::int64_t others = rows - members;
  if (t <= 16) {
    std::int64_t in = 0;
    for (std::int64_t k = 0; k < t; ++k) {
      if (rng.uniform() * static_cast<double>(rows - k) < static_cast<double>(members - in)) ++in;
    }
    return in;
  }
  const std::int64_t lo = std::max<std::int64_t>(0, t - others);
  const std::int64_t hi = std::min(t, members);
  if (lo == hi) return lo;
  const auto mode = std::clamp<std::int64_t>((t + 1) * (members + 1) / (rows + 2), lo, hi);
  const double p_mode =
      std::exp(log_choose(members, mode) + log_choose(others, t - mode) - log_choose(rows, t));
  double u = rng.uniform();
  if (u < p_mode) return mode;
  u -= p_mode;
  std::int64_t up = mode, down = mode;
  double p_up = p_mode, p_down = p_mode;
  while (up < hi || down > lo) {
    if (up < hi) {
      const double x = static_cast<double>(up);
      p_up *= (static_cast<double>(members) - x) * (static_cast<double>(t) - x) /
              ((x + 1) * (static_cast<double>(others - t) + x + 1));
      ++up;
      if (u < p_up) return up;
      u -= p_up;
    }
    if (down > lo) {
      const double x = static_cast<double>(down);
      p_down *= x * (static_cast<double>(others - t) + x) /
                ((static_cast<double>(members) - x + 1) * (static_cast<double>(t) - x + 1));
      --down;
      if (u < p_down) return down;
      u -= p_down;
    }
  }
  return mode;  // u beyond the rounded total mass (below 1e-12): the most likely value
}

// Selection sampling over the groups: each row is a member with probability (members left) /
// (rows left), a uniformly random labelling with exactly `groups.members` members. The draw is
// floor(u · rows_left) for a 64-bit u (bias below rows / 2^64), compared without a branch.
void relabel(const ScoreGroups& groups, SplitMix64& rng, ScoreGroups& out) {
  std::uint64_t members_left = static_cast<std::uint64_t>(groups.members);
  std::uint64_t rows_left = static_cast<std::uint64_t>(groups.rows);
  std::int64_t correct = 0;
  for (std::size_t j = 0; j < groups.groups.size(); ++j) {
    std::int64_t in = 0;
    for (std::int64_t k = 0; k < groups.groups[j].total; ++k) {
      const auto draw = static_cast<std::uint64_t>(
          (static_cast<unsigned __int128>(rng.next()) * rows_left) >> 64);
      const std::uint64_t bit = draw < members_left ? 1 : 0;
      in += static_cast<std::int64_t>(bit);
      members_left -= bit;
      --rows_left;
    }
    out.groups[j].members = in;
    correct += in;
    out.correct[j] = correct;
  }
}

// A lower bound on P[Bin(r, 1/2) >= v] for r/2 < v < r (Ash, Information Theory, 1965, Lemma
// 4.7.2): exp(-r D(v/r || 1/2)) / sqrt(8 v (1 - v/r)).
double tail_lower_bound_half(std::int64_t r, std::int64_t v) {
  const double n = static_cast<double>(r);
  const double lambda = static_cast<double>(v) / n;
  const double divergence =
      lambda * std::log(2 * lambda) + (1 - lambda) * std::log(2 * (1 - lambda));
  return std::exp(-n * divergence) / std::sqrt(8 * n * lambda * (1 - lambda));
}

// All mode under one relabelling: the maximum over every distinct threshold. While the maximum is
// 0, a threshold only counts when p(r, v, 0) < level; it cannot when v <= r/2 (the binomial
// median is >= v) or when Ash's lower bound on that tail is already >= level (with a margin of
// 1e-6, far above the rounding of a few logarithms), which leaves a handful of p-values per
// relabelling. Used for the null only: the measured bound itself comes from `measure`.
class ZeroTailFilter final {
 public:
  ZeroTailFilter(std::int64_t rows, double level)
      : level_(level),
        // D(λ || 1/2) <= 4 (λ − 1/2)^2 (the χ² bound) and 8 v (1 − v/r) <= 2 r <= 2 rows, so Ash's
        // bound is >= level whenever (2v − r)^2 / r <= -ln(level) − ln(2 rows) / 2: no logarithm
        // per threshold for the bulk of them.
        quick_(-std::log(level * (1 + 1e-6)) - 0.5 * std::log(2.0 * static_cast<double>(rows)) -
               1e-6) {}

  // True when p(r, v, 0) >= level is certain.
  bool rules_out(std::int64_t r, std::int64_t v) const {
    if (2 * v <= r) return true;  // the binomial median is >= v: the tail is >= 1/2
    if (v == r) return false;
    const double excess = static_cast<double>(2 * v - r);
    if (excess * excess <= quick_ * static_cast<double>(r)) return true;
    return tail_lower_bound_half(r, v) >= level_ * (1 + 1e-6);
  }

 private:
  double level_;
  double quick_;
};

double all_null_max(const ScoreGroups& groups, double level, BoundSearch search) {
  const ZeroTailFilter filter(groups.rows, level);
  double best = 0;
  for (std::size_t j = 0; j < groups.size(); ++j) {
    if (groups.groups[j].members == 0) continue;  // same v as the previous threshold, larger r
    const std::int64_t r = groups.guesses[j];
    const std::int64_t v = groups.correct[j];
    if (best == 0 && filter.rules_out(r, v)) continue;
    if (pvalue(r, v, best) >= level) continue;
    best = std::max(best, lower_bound({groups.rows, r, v, level}, search));
  }
  return best;
}

// The reference mode under one relabelling. Only the counts at the 100 thresholds matter, and the
// members among the rows between two consecutive thresholds are a hypergeometric draw from what
// is left, so a relabelling costs 100 draws, not a pass over the rows. A threshold can only raise
// the maximum `best` when p(r, v, best) < level (the search returns some e with p(e) < level, and
// p increases in e), so one p-value rules out almost every threshold of a null labelling.
double reference_null_max(const ScoreGroups& groups, const SweepOptions& options, SplitMix64& rng) {
  const std::vector<double> thresholds = reference_thresholds();
  const double level = sweep_level(options, static_cast<std::int64_t>(thresholds.size()));
  const ZeroTailFilter filter(groups.rows, level);
  double best = 0;
  std::int64_t r = 0, v = 0;
  // From the highest threshold down, so that the rows above each threshold grow.
  for (auto tau = thresholds.rbegin(); tau != thresholds.rend(); ++tau) {
    const std::int64_t r_next = groups.count_above(*tau).first;
    v += hypergeometric(r_next - r, groups.members - v, groups.rows - r, rng);
    r = r_next;
    if (r == 0 || v == 0 || (best == 0 && filter.rules_out(r, v))) continue;
    if (pvalue(r, v, best) >= level) continue;
    best = std::max(best, lower_bound({groups.rows, r, v, level}, options.search));
  }
  return best;
}

}  // namespace

ScoreGroups permute_members(const ScoreGroups& groups, std::uint64_t seed) {
  SplitMix64 rng(seed);
  ScoreGroups out = groups;
  relabel(groups, rng, out);
  return out;
}

std::vector<double> null_bounds(const ScoreGroups& groups, const SweepOptions& options, int first,
                                int count, std::uint64_t seed) {
  if (first < 0 || count < 0)
    throw std::invalid_argument("null_bounds: negative relabelling range");
  if (groups.rows == 0) throw std::invalid_argument("cannot sweep an empty score column");
  // All mode: the relabelling keeps the distinct scores, hence the number of thresholds.
  const double level = sweep_level(options, static_cast<std::int64_t>(groups.size()));
  std::vector<double> bounds;
  bounds.reserve(static_cast<std::size_t>(count));
  ScoreGroups permuted;
  if (options.mode == ThresholdMode::kAll && count > 0) permuted = groups;
  for (int k = first; k < first + count; ++k) {
    SplitMix64 rng(seed + static_cast<std::uint64_t>(k));
    if (options.mode == ThresholdMode::kReference) {
      bounds.push_back(reference_null_max(groups, options, rng));
    } else {
      relabel(groups, rng, permuted);
      bounds.push_back(all_null_max(permuted, level, options.search));
    }
  }
  return bounds;
}

std::vector<double> null_distribution(const ScoreGroups& groups, const SweepOptions& options,
                                      int permutations, std::uint64_t seed) {
  if (permutations < 1)
    throw std::invalid_argument("the null check needs at least one permutation, got " +
                                std::to_string(permutations));
  std::vector<double> bounds = null_bounds(groups, options, 0, permutations, seed);
  std::sort(bounds.begin(), bounds.end());
  return bounds;
}

NullCheck compare_to_null(const std::vector<double>& sorted, double bound) {
  if (sorted.empty()) throw std::invalid_argument("the null distribution is empty");
  NullCheck check;
  check.permutations = static_cast<int>(sorted.size());
  check.max = sorted.back();
  // Nearest rank: the ceil(0.95 K)-th smallest.
  const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(sorted.size())));
  check.p95 = sorted[std::max<std::size_t>(rank, 1) - 1];
  check.above = bound > check.p95;
  return check;
}

NullCheck null_check(const ScoreGroups& groups, double bound, const SweepOptions& options,
                     int permutations, std::uint64_t seed) {
  return compare_to_null(null_distribution(groups, options, permutations, seed), bound);
}

std::uint64_t tie_structure_hash(const ScoreGroups& groups) {
  // FNV-1a over rows, members and the group sizes in score order.
  std::uint64_t h = 1469598103934665603ULL;
  const auto add = [&h](std::uint64_t x) {
    for (int byte = 0; byte < 8; ++byte) h = (h ^ ((x >> (8 * byte)) & 0xFF)) * 1099511628211ULL;
  };
  add(static_cast<std::uint64_t>(groups.rows));
  add(static_cast<std::uint64_t>(groups.members));
  for (const ScoreGroup& g : groups.groups) add(static_cast<std::uint64_t>(g.total));
  return h;
}

int default_null_permutations(ThresholdMode mode, std::int64_t rows) {
  if (mode == ThresholdMode::kReference || rows <= kAllModeFullNullRows)
    return kDefaultNullPermutations;
  return kAllModeLargeNullPermutations;
}

double max_attainable_bound(std::int64_t members, double level) {
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument("the test level must lie strictly between 0 and 1, got " +
                                std::to_string(level));
  if (members < 0) throw std::invalid_argument("the number of members must not be negative");
  if (members == 0) return 0.0;
  // q = level^(1/n); 1 − q = −expm1(log(level) / n) keeps its digits when q is close to 1.
  const double log_q = std::log(level) / static_cast<double>(members);
  const double one_minus_q = -std::expm1(log_q);
  return std::max(0.0, log_q - std::log(one_minus_q));
}

}  // namespace panoramia::stats
