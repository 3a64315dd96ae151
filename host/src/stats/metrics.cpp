#include "stats/metrics.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace panoramia::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has_both_classes(const ScoreGroups& groups) {
  return groups.members > 0 && groups.non_members() > 0;
}

RocPoint roc_point(const ScoreGroups& groups, std::size_t j) {
  const std::int64_t fp = groups.guesses[j] - groups.correct[j];
  return {groups.groups[j].value,
          static_cast<double>(fp) / static_cast<double>(groups.non_members()),
          static_cast<double>(groups.correct[j]) / static_cast<double>(groups.members)};
}

}  // namespace

double auc(const std::vector<double>& scores, const std::vector<int>& member) {
  return auc(group_scores(scores, member));
}

double auc(const ScoreGroups& groups) {
  if (!has_both_classes(groups)) return kNaN;
  // Walking down from the highest score, the non-members seen so far are those above the current
  // group: each member of the group beats all non-members below it and ties with those inside it.
  // Counted in half-wins so the sum stays an exact integer.
  std::int64_t half_wins = 0;
  std::int64_t non_members_above = 0;
  for (const ScoreGroup& group : groups.groups) {
    const std::int64_t non_members_here = group.total - group.members;
    const std::int64_t non_members_below =
        groups.non_members() - non_members_above - non_members_here;
    half_wins += group.members * (2 * non_members_below + non_members_here);
    non_members_above += non_members_here;
  }
  return static_cast<double>(half_wins) /
         (2.0 * static_cast<double>(groups.members) * static_cast<double>(groups.non_members()));
}

double tpr_at_fpr(const std::vector<double>& scores, const std::vector<int>& member, double fpr) {
  return tpr_at_fpr(group_scores(scores, member), fpr);
}

double tpr_at_fpr(const ScoreGroups& groups, double fpr) {
  if (!(fpr >= 0.0 && fpr <= 1.0)) {
    throw std::invalid_argument("the false-positive rate must lie in [0, 1], got " +
                                std::to_string(fpr));
  }
  if (!has_both_classes(groups)) return kNaN;
  // TPR and FPR both grow as the threshold falls, so the answer is the last threshold within the
  // budget.
  double best = 0;
  for (std::size_t j = 0; j < groups.size(); ++j) {
    const RocPoint point = roc_point(groups, j);
    if (point.fpr > fpr) break;
    best = point.tpr;
  }
  return best;
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& member,
                                std::size_t max_points) {
  return roc_curve(group_scores(scores, member), max_points);
}

std::vector<RocPoint> roc_curve(const ScoreGroups& groups, std::size_t max_points) {
  if (!has_both_classes(groups)) return {};
  max_points = std::max<std::size_t>(max_points, 2);
  // Point 0 is the empty prediction; point k >= 1 is group k - 1.
  const std::size_t total = groups.size() + 1;
  const std::size_t count = std::min(total, max_points);
  std::vector<RocPoint> curve;
  curve.reserve(count);
  std::size_t previous = total;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t at = count == total ? k : k * (total - 1) / (count - 1);
    if (at == previous) continue;
    previous = at;
    curve.push_back(at == 0 ? RocPoint{std::numeric_limits<double>::infinity(), 0, 0}
                            : roc_point(groups, at - 1));
  }
  return curve;
}

}  // namespace panoramia::stats
