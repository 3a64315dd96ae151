// All-thresholds maximisation with pruning. The result must equal the brute force max over every
// distinct threshold (tests/stats check this), so every skip below rests on a proof that the
// skipped threshold's bound is strictly below the best one, with a numerical margin far wider than
// the rounding of the bound.
#include <algorithm>
#include <cmath>
#include <vector>

#include "stats/binomial.hpp"
#include "stats/sweep.hpp"

namespace panoramia::stats {
namespace {

constexpr std::size_t kSeeds = 32;
constexpr double kRelativeMargin = 1e-9;  // in e; bounds are computed to ~1e-12 or better
constexpr double kZeroMargin = 1e-6;      // relative, on the p-value at e = 0

class BestSearch final {
 public:
  BestSearch(const ScoreGroups& groups, double level, BoundSearch search)
      : groups_(groups), level_(level), search_(search), evaluated_(groups.size(), false) {
    // Everything ties at 0 unless some threshold does better; the tie then goes to the smallest
    // threshold.
    best_.index = groups.size() - 1;
  }

  BestThreshold run() {
    collect_candidates();
    if (candidates_.empty()) return best_;
    seed();
    for (const std::size_t j : candidates_) {
      if (!evaluated_[j] && !cannot_beat_best(j)) evaluate(j);
    }
    return best_;
  }

 private:
  // A threshold is dominated when a neighbour's bound is provably at least as large:
  //  - its group has no member: same v as the previous threshold with more guesses, so p-values are
  //    larger (and a tie can only be at 0, which goes to the smallest threshold anyway);
  //  - the next group is all members: P[Bin(r+t, q) >= v+t] <= P[Bin(r, q) >= v] for every q, and
  //    the next threshold is smaller, so it also wins a tie.
  void collect_candidates() {
    const auto& g = groups_.groups;
    for (std::size_t j = 0; j < g.size(); ++j) {
      const bool adds_member = g[j].members > 0;
      const bool next_all_members = j + 1 < g.size() && g[j + 1].members == g[j + 1].total;
      if (adds_member && !next_all_members) candidates_.push_back(j);
    }
  }

  // Coarse evenly spaced evaluations, then a halving hill-climb around the best one, so that the
  // scan starts with a bound close to the maximum and prunes almost everything.
  void seed() {
    const std::size_t count = candidates_.size();
    const std::size_t stride = std::max<std::size_t>(1, count / kSeeds);
    std::size_t at = 0;
    for (std::size_t k = 0; k < count; k += stride) {
      if (evaluate(candidates_[k])) at = k;
    }
    if (evaluate(candidates_.back())) at = count - 1;
    for (std::size_t step = stride / 2; step >= 1; step /= 2) {
      const std::size_t centre = at;
      if (centre >= step && evaluate(candidates_[centre - step])) at = centre - step;
      if (centre + step < count && evaluate(candidates_[centre + step])) at = centre + step;
    }
  }

  bool cannot_beat_best(std::size_t j) const {
    const std::int64_t r = groups_.guesses[j];
    const std::int64_t v = groups_.correct[j];
    const double target = best_.bound - kRelativeMargin * std::max(1.0, best_.bound);
    // LB <= logit(v/r) when level < 1/2: at q >= v/r the binomial median is >= v, so the tail is >=
    // 1/2.
    if (level_ < 0.5 && v < r && logit(static_cast<double>(v) / static_cast<double>(r)) < target) {
      return true;
    }
    if (best_.bound > 0.0) return pvalue(r, v, target) >= level_;  // p increasing: LB <= target
    return pvalue(r, v, 0.0) >= level_ * (1.0 + kZeroMargin);  // LB is 0: no gain over a tie at 0
  }

  // Returns true when j became the best threshold.
  bool evaluate(std::size_t j) {
    if (evaluated_[j]) return false;
    evaluated_[j] = true;
    const double bound =
        lower_bound({groups_.rows, groups_.guesses[j], groups_.correct[j], level_}, search_);
    const bool better =
        bound > best_.bound || (bound == best_.bound && bound > 0 && j > best_.index);
    if (better) best_ = {j, bound};
    return better;
  }

  const ScoreGroups& groups_;
  double level_;
  BoundSearch search_;
  std::vector<bool> evaluated_;
  std::vector<std::size_t> candidates_;
  BestThreshold best_;
};

}  // namespace

BestThreshold find_best_threshold(const ScoreGroups& groups, double level, BoundSearch search) {
  if (groups.size() == 0) return {};
  return BestSearch(groups, level, search).run();
}

}  // namespace panoramia::stats
