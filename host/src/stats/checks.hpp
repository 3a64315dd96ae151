#pragma once
/// \file
/// The checks printed beside every measured bound: the permutation null (could the sweep have found
/// this bound on labels that carry no information?) and saturation (is the bound at the largest
/// value this m and level can give, so that it only says "at least this much"?).
///
/// Pure, thread-safe functions; the permutations draw from their own seeded splitmix64 generator,
/// so the null is the same on every machine.

#include <cstdint>
#include <vector>

#include "stats/score_groups.hpp"
#include "stats/sweep.hpp"

namespace panoramia::stats {

/// Label permutations per column by default: the null's 95th percentile is then the 95th of 100
/// order statistics. In reference mode a relabelling costs 100 hypergeometric draws and a few
/// p-values (about 3% of `panoramia stats` on a million rows). In all mode every distinct threshold
/// counts, so a relabelling is a pass over the rows: above `kAllModeFullNullRows` rows the default
/// drops to `kAllModeLargeNullPermutations`.
inline constexpr int kDefaultNullPermutations = 100;
inline constexpr std::int64_t kAllModeFullNullRows = 20000;
inline constexpr int kAllModeLargeNullPermutations = 20;
/// A bound within this fraction of the largest attainable one is reported as saturated.
inline constexpr double kSaturationMargin = 0.1;
/// A baseline AUC at or above this means the generated data are told apart almost perfectly.
inline constexpr double kSaturationAuc = 0.99;

/// The permutation null of one column.
struct NullCheck {
  int permutations = 0;  ///< 0: not run
  double max = 0;        ///< the largest bound over the permuted labellings
  double p95 = 0;        ///< their 95th percentile (nearest rank)
  bool above = false;    ///< the column's own bound is strictly above `p95`
};

/// What the summary checks, and how.
struct CheckOptions {
  /// Relabellings per column; -1: `default_null_permutations`; 0 switches the null check off.
  int null_permutations = -1;
  std::uint64_t null_seed = 20240615;
  double saturation_margin = kSaturationMargin;
  double saturation_auc = kSaturationAuc;
};

/// The same scores with the member labels redrawn uniformly at random (the same number of
/// members): group by group, sequential sampling without replacement, O(rows).
ScoreGroups permute_members(const ScoreGroups& groups, std::uint64_t seed);

/// The maximum bound of the sweep (same mode, level and search as `measure`) on `permutations`
/// uniformly random relabellings of `groups` (the same number of members), sorted ascending.
/// Relabelling k draws from seed `seed + k`. It depends on the scores only through the tie
/// structure (`tie_structure_hash`), so columns that share one may share it. Throws
/// `std::invalid_argument` for permutations < 1 or an empty column.
std::vector<double> null_distribution(const ScoreGroups& groups, const SweepOptions& options,
                                      int permutations, std::uint64_t seed);

/// Relabellings `first` to `first + count - 1` of `null_distribution` (seed `seed + k` each), in
/// that order and unsorted: the pieces that `null_distribution` is made of, so that the pieces can
/// be computed on several threads with the same result.
std::vector<double> null_bounds(const ScoreGroups& groups, const SweepOptions& options, int first,
                                int count, std::uint64_t seed);

/// `bound` against a sorted null distribution: its maximum and nearest-rank 95th percentile.
NullCheck compare_to_null(const std::vector<double>& sorted, double bound);

/// `compare_to_null(null_distribution(groups, options, permutations, seed), bound)`.
NullCheck null_check(const ScoreGroups& groups, double bound, const SweepOptions& options,
                     int permutations, std::uint64_t seed);

/// A hash of rows, members and the group sizes in score order: relabellings of two columns with the
/// same hash are distributed alike.
std::uint64_t tie_structure_hash(const ScoreGroups& groups);

/// The default number of relabellings for a column of `rows` rows in `mode`.
int default_null_permutations(ThresholdMode mode, std::int64_t rows);

/// The largest lower bound any threshold can give with `members` members at test level `level`:
/// every guess correct and every member guessed, p = q^members, so logit(level^(1/members)).
/// 0 when members == 0. Throws `std::invalid_argument` unless 0 < level < 1 and members >= 0.
double max_attainable_bound(std::int64_t members, double level);

}  // namespace panoramia::stats
