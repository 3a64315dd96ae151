#pragma once
// Conversions between an audit's statistics and the database rows, and the text/CSV/JSON views of a
// stored run.

#include <ostream>
#include <string>
#include <vector>

#include "results_db.hpp"
#include "stats/summary.hpp"

namespace panoramia {

std::vector<MetricRecord> summary_metrics(const stats::AuditSummary& summary);
std::vector<CurveRecord> summary_curves(const stats::AuditSummary& summary);

/// The reference CSV (`member, baseline_pred, mia_<name>_pred, ...`) of a stored run.
void write_reference_csv(const std::vector<ScoreColumn>& scores, std::ostream& out);
/// Everything stored about a run as JSON.
std::string run_to_json(const ResultsDb& db, std::int64_t run);
/// One score column's measurements as stored.
struct MeasurementRow {
  std::string column;
  bool baseline = false;
  double bound = 0, threshold = 0, recall = 0, precision = 0, auc = 0;
  double tpr_10 = 0, tpr_1 = 0, tpr_01 = 0;  // TPR at 10 %, 1 %, 0.1 % FPR
  double eps_tilde = 0;                      // MIA columns only
};
std::vector<MeasurementRow> measurement_rows(const ResultsDb& db, std::int64_t run);
/// The table header and one row, as `show` and `compare` print them.
std::string measurement_header();
std::string format_measurement_row(const MeasurementRow& row);

/// The human-readable view of a stored run (`panoramia show`).
std::string format_run(const ResultsDb& db, std::int64_t run);

}  // namespace panoramia
