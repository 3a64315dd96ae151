#pragma once
/// \file
/// Human-readable and JSON renderings of an `AuditSummary`.

#include <string>

#include <nlohmann/json.hpp>

#include "stats/summary.hpp"

namespace panoramia::stats {

/// A table with one row per column (bound, threshold, recall, precision, r, v, AUC, TPR at 10%, 1%
/// and 0.1% FPR), then c_lb, {ε+c}_lb and ε̃ for each MIA, and the reminder that ε̃ is a
/// measurement, not a proven bound. Lines end with '\n'.
std::string format_summary_text(const AuditSummary& summary);

/// Every metric and curve of the summary. NaN and infinite values (an undefined AUC, the ROC
/// curve's first threshold) become JSON null.
nlohmann::json summary_to_json(const AuditSummary& summary);

/// "reference"/"all" and "reference"/"exact", the names used in the JSON and the text.
const char* to_string(ThresholdMode mode);
const char* to_string(BoundSearch search);
/// The inverses of `to_string`, for option values: an unknown name throws std::invalid_argument
/// naming `option` and the names allowed.
ThresholdMode parse_threshold_mode(const std::string& name, const std::string& option);
BoundSearch parse_bound_search(const std::string& name, const std::string& option);

}  // namespace panoramia::stats
