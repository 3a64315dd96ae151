#pragma once
/// \file
/// Scores grouped by distinct value, sorted once and shared by the threshold sweep and the ROC
/// metrics.

#include <cstdint>
#include <utility>
#include <vector>

namespace panoramia::stats {

/// One distinct score value and how many rows hold it.
struct ScoreGroup {
  double value = 0;
  std::int64_t members = 0;
  std::int64_t total = 0;
};

/// Distinct scores in decreasing order, with cumulative counts: thresholding at `groups[j].value`
/// with `score >= value` predicts "member" for exactly `guesses[j]` rows, `correct[j]` of them true
/// members.
struct ScoreGroups {
  std::vector<ScoreGroup> groups;
  std::vector<std::int64_t> guesses;  ///< r_j, cumulative `total`
  std::vector<std::int64_t> correct;  ///< v_j, cumulative `members`
  std::int64_t rows = 0;
  std::int64_t members = 0;

  std::int64_t non_members() const { return rows - members; }
  std::size_t size() const { return groups.size(); }
  /// Rows with a score strictly greater than `threshold` (r of the reference's `score > τ`) and how
  /// many of them are members, by binary search: O(log T).
  std::pair<std::int64_t, std::int64_t> count_above(double threshold) const;
};

/// Sorts and groups in O(n log n). `member[i]` is 1 for a member and 0 otherwise. Throws
/// `std::invalid_argument` when the sizes differ, a score is NaN, or a member flag is not 0/1.
ScoreGroups group_scores(const std::vector<double>& scores, const std::vector<int>& member);

}  // namespace panoramia::stats
