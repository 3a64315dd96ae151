#pragma once
// Conversions between an audit's statistics and the database rows, and the text/CSV/JSON views of a
// stored run.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "results_db.hpp"
#include "stats/spread.hpp"
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

/// One row of the side-by-side table of a run's attacks (`[attack]` and `[attacks] list`): one
/// attack with one side model (the baseline, or the MIA on one model variant).
struct AttackRow {
  std::string attack;  // plugin name
  std::string column;  // baseline_pred, mia_<variant>_pred
  bool baseline = false;
  double bound = 0;  // c_lb or {eps+c}_lb
  double eps_tilde = 0, auc = 0, tpr_1 = 0, tpr_01 = 0;
  std::optional<double> real_bound;  // {eps+c}_lb of the real-non-member game (MIA rows)
  bool signal = true;                // above the null's 95th percentile (or no null check)
  double seconds = 0;                // the attack's time on the generated game, all its sides
  // With repetitions: the mean and 95% interval of the bound and of eps_tilde.
  std::optional<stats::Spread> bound_spread, eps_tilde_spread;
};
/// The rows of every attack of a stored run; empty when the run has only the `[attack]` plugin.
/// `primary` is the `[attack]` plugin's name.
std::vector<AttackRow> attack_rows(const std::vector<MetricRecord>& metrics,
                                   const std::string& primary);
/// The side-by-side table of `attack_rows` as `show` and `compare` print it.
std::string format_attack_table(const std::vector<AttackRow>& rows);
/// The `[attack]` plugin of a stored run (from its plugins record), "attack" when unknown.
std::string primary_attack(const RunRecord& run);

/// The human-readable view of a stored run (`panoramia show`).
std::string format_run(const ResultsDb& db, std::int64_t run);

}  // namespace panoramia
