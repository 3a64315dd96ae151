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
/// The human-readable view of a stored run (`panoramia show`).
std::string format_run(const ResultsDb& db, std::int64_t run);

}  // namespace panoramia
