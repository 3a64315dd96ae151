#include "stats/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <stdexcept>

namespace panoramia::stats {
namespace {

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));

std::string format(const char* pattern, ...) {
  std::va_list args;
  va_start(args, pattern);
  std::va_list copy;
  va_copy(copy, args);
  const int length = std::vsnprintf(nullptr, 0, pattern, copy);
  va_end(copy);
  std::string text(static_cast<std::size_t>(std::max(length, 0)) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), pattern, args);
  va_end(args);
  text.pop_back();
  return text;
}

// nlohmann writes NaN and infinity as null already; doing it here keeps the JSON value itself
// valid.
nlohmann::json number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

nlohmann::json sweep_json(const std::vector<SweepPoint>& curve) {
  nlohmann::json points = nlohmann::json::array();
  for (const SweepPoint& p : curve) {
    points.push_back({{"threshold", p.threshold},
                      {"r", p.r},
                      {"v", p.v},
                      {"recall", p.recall},
                      {"precision", p.precision},
                      {"bound", p.bound}});
  }
  return points;
}

nlohmann::json column_json(const ColumnSummary& column) {
  const Measurement& m = column.measurement;
  nlohmann::json tpr = nlohmann::json::array();
  for (const TprAtFpr& t : column.tpr_at_fpr)
    tpr.push_back({{"fpr", t.fpr}, {"tpr", number(t.tpr)}});
  nlohmann::json roc = nlohmann::json::array();
  for (const RocPoint& p : column.roc) {
    roc.push_back({{"threshold", number(p.threshold)}, {"fpr", p.fpr}, {"tpr", p.tpr}});
  }
  nlohmann::json precision = nlohmann::json::array();
  for (const PrecisionPoint& p : column.precision_curve) {
    precision.push_back({{"threshold", p.threshold},
                         {"r", p.r},
                         {"v", p.v},
                         {"recall", p.recall},
                         {"precision", p.precision},
                         {"max_precision", number(p.max_precision)}});
  }
  return {{"name", column.name},
          {"role", column.baseline ? "baseline" : "mia"},
          {"bound", m.bound},
          {"threshold", m.threshold},
          {"recall", m.recall},
          {"precision", m.precision},
          {"r", m.r},
          {"v", m.v},
          {"level", m.level},
          {"thresholds", m.thresholds},
          {"auc", number(column.auc)},
          {"tpr_at_fpr", tpr},
          {"sweep", sweep_json(m.curve)},
          {"roc", roc},
          {"precision_curve", precision},
          {"null",
           {{"permutations", column.null.permutations},
            {"max", column.null.max},
            {"p95", column.null.p95},
            {"above", column.null.above}}},
          {"max_bound", column.max_bound},
          {"saturated", column.saturated}};
}

std::string verdict(const ColumnSummary& column) {
  std::string text = column.null.permutations == 0 ? "-"
                     : column.null.above           ? "signal"
                                                   : "no signal";
  if (column.saturated) text += ", saturated";
  return text;
}

std::string checks_text(const AuditSummary& summary) {
  std::string text;
  const int permutations = summary.columns.empty() ? 0 : summary.columns.front().null.permutations;
  if (permutations > 0) {
    text += format(
        "\nchecks: the same sweep on %d random permutations of the member labels (null), and the "
        "largest bound attainable at this m and level\n",
        permutations);
  } else {
    text += "\nchecks: null check off; the largest bound attainable at this m and level\n";
  }
  text += format("%-24s %8s %9s %9s %9s  %s\n", "column", "bound", "null p95", "null max",
                 "max bound", "verdict");
  for (const ColumnSummary& c : summary.columns) {
    text += format("%-24s %8.4f %9.4f %9.4f %9.4f  %s\n", c.name.c_str(), c.measurement.bound,
                   c.null.p95, c.null.max, c.max_bound, verdict(c).c_str());
  }
  for (const std::string& warning : summary.warnings) text += "warning: " + warning + "\n";
  return text;
}

std::string column_row(const ColumnSummary& column) {
  const Measurement& m = column.measurement;
  std::string row = format("%-24s %8.4f %9.4f %7.4f %9.4f %9lld %9lld %7.4f", column.name.c_str(),
                           m.bound, m.threshold, m.recall, m.precision, static_cast<long long>(m.r),
                           static_cast<long long>(m.v), column.auc);
  for (const TprAtFpr& t : column.tpr_at_fpr) row += format(" %8.4f", t.tpr);
  return row + "\n";
}

}  // namespace

const char* to_string(ThresholdMode mode) {
  return mode == ThresholdMode::kReference ? "reference" : "all";
}

const char* to_string(BoundSearch search) {
  return search == BoundSearch::kReference ? "reference" : "exact";
}

ThresholdMode parse_threshold_mode(const std::string& name, const std::string& option) {
  for (const auto mode : {ThresholdMode::kReference, ThresholdMode::kAll})
    if (name == to_string(mode)) return mode;
  throw std::invalid_argument(option + " '" + name + "' is not one of reference, all");
}

BoundSearch parse_bound_search(const std::string& name, const std::string& option) {
  for (const auto search : {BoundSearch::kReference, BoundSearch::kExact})
    if (name == to_string(search)) return search;
  throw std::invalid_argument(option + " '" + name + "' is not one of reference, exact");
}

std::string format_summary_text(const AuditSummary& summary) {
  const SweepOptions& options = summary.options;
  std::string text = format("PANORAMIA audit of %s: m = %lld (%lld members, %lld generated)\n",
                            summary.source.c_str(), static_cast<long long>(summary.m),
                            static_cast<long long>(summary.members),
                            static_cast<long long>(summary.m - summary.members));
  text +=
      format("thresholds: %s mode, %.0f%% joint confidence over %d measurements, search: %s\n\n",
             to_string(options.mode), 100.0 * options.confidence, options.measurements,
             to_string(options.search));
  text += format("%-24s %8s %9s %7s %9s %9s %9s %7s", "column", "bound", "threshold", "recall",
                 "precision", "r", "v", "AUC");
  for (const double fpr : kReportedFprs)
    text += format(" %8s", format("TPR@%g%%", 100 * fpr).c_str());
  text += "\n";
  for (const ColumnSummary& column : summary.columns) text += column_row(column);
  if (!summary.columns.empty()) {
    const Measurement& m = summary.columns.front().measurement;
    text += format("(level per threshold %.3g over %lld thresholds)\n", m.level,
                   static_cast<long long>(m.thresholds));
  }
  text += format("\nc_lb = %.6f (baseline_pred)\n", summary.c_lb);
  for (const MiaEstimate& mia : summary.mias) {
    text += format("%s: {eps+c}_lb = %.6f, eps_tilde = {eps+c}_lb - c_lb = %.6f\n",
                   mia.column.c_str(), mia.eps_c_lb, mia.eps_tilde);
  }
  text +=
      "Note: eps_tilde is a privacy-leakage measurement, not a proven lower bound on eps "
      "(c_lb only bounds c from below).\n";
  text += checks_text(summary);
  return text;
}

nlohmann::json summary_to_json(const AuditSummary& summary) {
  const SweepOptions& options = summary.options;
  nlohmann::json mias = nlohmann::json::array();
  for (const MiaEstimate& mia : summary.mias) {
    mias.push_back({{"column", mia.column},
                    {"model", mia.model},
                    {"eps_c_lb", mia.eps_c_lb},
                    {"eps_tilde", mia.eps_tilde}});
  }
  nlohmann::json columns = nlohmann::json::array();
  for (const ColumnSummary& column : summary.columns) columns.push_back(column_json(column));
  return {{"source", summary.source},
          {"m", summary.m},
          {"members", summary.members},
          {"options",
           {{"mode", to_string(options.mode)},
            {"confidence", options.confidence},
            {"measurements", options.measurements},
            {"search", to_string(options.search)},
            {"curve_points", options.curve_points}}},
          {"c_lb", summary.c_lb},
          {"mias", mias},
          {"columns", columns},
          {"checks",
           {{"null_permutations", summary.checks.null_permutations},
            {"null_seed", summary.checks.null_seed},
            {"saturation_margin", summary.checks.saturation_margin},
            {"saturation_auc", summary.checks.saturation_auc}}},
          {"warnings", summary.warnings}};
}

}  // namespace panoramia::stats
