#pragma once
/// \file
/// Threshold-free classification metrics of a score column: AUC, TPR at a fixed FPR, the ROC curve.
///
/// Scores predict "member" when `score >= threshold`. Pure, thread-safe functions; mismatched
/// sizes, NaN scores and member flags other than 0/1 throw `std::invalid_argument`.

#include <cstddef>
#include <vector>

#include "stats/score_groups.hpp"

namespace panoramia::stats {

/// One point of the ROC curve: predicting "member" for `score >= threshold` (threshold +inf:
/// nothing).
struct RocPoint {
  double threshold = 0;
  double fpr = 0;
  double tpr = 0;
};

/// Area under the ROC curve, P[score(member) > score(non-member)] + P[tie] / 2, in O(n log n). NaN
/// when either class is empty.
double auc(const std::vector<double>& scores, const std::vector<int>& member);
double auc(const ScoreGroups& groups);

/// The largest TPR over thresholds whose FPR is at most `fpr` (the empty prediction, TPR = 0,
/// always qualifies). NaN when either class is empty. Throws `std::invalid_argument` unless 0 <=
/// fpr <= 1.
double tpr_at_fpr(const std::vector<double>& scores, const std::vector<int>& member, double fpr);
double tpr_at_fpr(const ScoreGroups& groups, double fpr);

/// ROC curve from (0, 0) to (1, 1) in increasing FPR, downsampled to at most `max_points` points
/// (>= 2; the first and last are always kept). Empty when either class is empty.
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& member,
                                std::size_t max_points = 1000);
std::vector<RocPoint> roc_curve(const ScoreGroups& groups, std::size_t max_points = 1000);

}  // namespace panoramia::stats
