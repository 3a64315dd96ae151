#pragma once
/// \file
/// The threshold sweep that turns one score column into c_lb or {ε+c}_lb (docs/method.md §1.4,
/// §1.5, §3.10).
///
/// Pure, thread-safe functions. Invalid input throws `std::invalid_argument` with one sentence.

#include <cstdint>
#include <vector>

#include "stats/bound.hpp"
#include "stats/score_groups.hpp"

namespace panoramia::stats {

/// Which thresholds the sweep tries.
enum class ThresholdMode {
  /// The reference plotting script: τ in linspace(0, 1, 100) inclusive, member guess when
  /// `score > τ`.
  kReference,
  /// Every distinct score s, member guess when `score >= s`, Bonferroni over all of them.
  kAll,
};

/// Sweep settings. The per-threshold level is (1 − confidence) / (measurements · thresholds):
/// 2.5e-4 for the reference mode with the defaults (baseline and MIA at 95% joint confidence).
struct SweepOptions {
  ThresholdMode mode = ThresholdMode::kReference;
  double confidence = 0.95;
  int measurements = 2;
  BoundSearch search = BoundSearch::kReference;
  /// All mode only: at most this many curve points (plus the maximising threshold), evenly spaced
  /// over the distinct thresholds; 0 keeps only the maximiser. The maximum itself is always over
  /// every threshold.
  int curve_points = 1000;
};

/// One threshold of the sweep. `precision` is 0 when r == 0; `recall` is 0 when there are no
/// members.
struct SweepPoint {
  double threshold = 0;
  std::int64_t r = 0;
  std::int64_t v = 0;
  double recall = 0;
  double precision = 0;
  double bound = 0;
};

/// The maximum over thresholds of LB(r(τ), v(τ), level) and where it is reached. Ties go to the
/// smallest threshold (the largest recall), like numpy's argmax over ascending thresholds.
struct Measurement {
  double bound = 0;
  double threshold = 0;
  double recall = 0;
  double precision = 0;
  std::int64_t r = 0;
  std::int64_t v = 0;
  double level = 0;             ///< the per-threshold test level used
  std::int64_t thresholds = 0;  ///< the number of thresholds in the Bonferroni correction
  /// Ascending thresholds: all 100 in reference mode; a downsampled curve (with exact bounds) in
  /// all mode.
  std::vector<SweepPoint> curve;
};

/// `count` thresholds bit-identical to numpy's linspace(0, 1, count): k · (1 / (count − 1)) for
/// k < count − 1, and exactly 1 last.
std::vector<double> linspace_thresholds(int count);

/// The 100 reference thresholds, `linspace_thresholds(100)`.
std::vector<double> reference_thresholds();

/// The per-threshold level for `thresholds` tests; throws unless 0 < confidence < 1 and
/// measurements >= 1.
double sweep_level(const SweepOptions& options, std::int64_t thresholds);

/// Sweeps one score column; m is the number of scores. Throws `std::invalid_argument` for an empty
/// column, mismatched sizes, NaN scores, member flags other than 0/1, or invalid options.
Measurement measure(const std::vector<double>& scores, const std::vector<int>& member,
                    const SweepOptions& options);

/// Same, on scores already grouped by `group_scores` (lets callers share one sort with the ROC
/// metrics).
Measurement measure(const ScoreGroups& groups, const SweepOptions& options);

/// All mode's maximisation: the index into `groups.groups` of the best threshold and its bound,
/// exact over every distinct threshold. Prunes thresholds that provably cannot beat the best bound
/// found so far (dominated points, LB <= logit(v/r), p(r, v, best) >= level), so the result equals
/// the brute force.
struct BestThreshold {
  std::size_t index = 0;
  double bound = 0;
};
BestThreshold find_best_threshold(const ScoreGroups& groups, double level, BoundSearch search);

}  // namespace panoramia::stats
