#pragma once
/// \file
/// The audit summary of one score table: c_lb from `baseline_pred`, {ε+c}_lb and ε̃ for every MIA
/// column, and the classification metrics and curves of every column (docs/method.md §1.4, §3.10).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "stats/checks.hpp"
#include "stats/metrics.hpp"
#include "stats/score_csv.hpp"
#include "stats/sweep.hpp"

namespace panoramia::stats {

/// The false-positive rates at which every column's TPR is reported.
inline constexpr double kReportedFprs[] = {0.1, 0.01, 0.001};

/// TPR at a fixed FPR.
struct TprAtFpr {
  double fpr = 0;
  double tpr = 0;
};

/// One point of the reference precision plot: `score > threshold`, with the theoretical maximum
/// precision `max_precision(r, bound)` of the column's measured bound.
struct PrecisionPoint {
  double threshold = 0;
  std::int64_t r = 0;
  std::int64_t v = 0;
  double recall = 0;
  double precision = 0;
  double max_precision = 0;
};

/// Everything measured on one score column.
struct ColumnSummary {
  std::string name;
  bool baseline = false;
  Measurement measurement;           ///< the bound (c_lb or {ε+c}_lb) and its sweep curve
  double auc = 0;                    ///< NaN when a class is empty
  std::vector<TprAtFpr> tpr_at_fpr;  ///< at each of `kReportedFprs`
  std::vector<RocPoint> roc;         ///< at most 1000 points
  std::vector<PrecisionPoint> precision_curve;  ///< linspace(0, 1, 1000), points with r > 0 only
  NullCheck null;        ///< the permutation null (permutations = 0 when switched off)
  double max_bound = 0;  ///< `max_attainable_bound(members, level)`
  bool saturated =
      false;  ///< bound >= (1 − margin) · max_bound (or, for the baseline, AUC too high)
};

/// One MIA column against the baseline.
struct MiaEstimate {
  std::string column;   ///< e.g. mia_gpt2_pred
  std::string model;    ///< e.g. gpt2 (the column name without `mia_` and `_pred`)
  double eps_c_lb = 0;  ///< {ε+c}_lb, the column's measured bound
  /// ε̃ = {ε+c}_lb − c_lb. A leakage measurement, not a proven lower bound on ε: c_lb only bounds c
  /// from below. (The reference plotting script prints c_lb − {ε+c}_lb, the opposite sign.)
  double eps_tilde = 0;
};

/// The audit of one score table.
struct AuditSummary {
  std::string source;
  std::int64_t m = 0;        ///< rows (audit slots)
  std::int64_t members = 0;  ///< rows with member == 1
  SweepOptions options;
  double c_lb = 0;                     ///< the baseline_pred column's bound
  std::vector<ColumnSummary> columns;  ///< every score column, in file order
  std::vector<MiaEstimate> mias;       ///< every score column except baseline_pred, in file order
  CheckOptions checks;
  /// One sentence each: columns whose bound is not above the null, saturated bounds.
  std::vector<std::string> warnings;
};

/// The reference precision-plot curve of a grouped column for measured bound `e_max`: `thresholds`
/// points of linspace(0, 1, thresholds), `score > τ`, skipping those with r == 0.
std::vector<PrecisionPoint> precision_curve(const ScoreGroups& groups, double e_max,
                                            int thresholds = 1000, double tail = 0.025);

/// Summarises every score column of `table` and runs the checks. Throws `std::invalid_argument`
/// when the table has no `baseline_pred` column or invalid options, and as `measure` does.
AuditSummary summarize(const ScoreTable& table, const SweepOptions& options,
                       const CheckOptions& checks = {});

/// The warnings of `summary`'s checks, one sentence each (what `summarize` stores in `warnings`).
std::vector<std::string> check_warnings(const AuditSummary& summary);

}  // namespace panoramia::stats
