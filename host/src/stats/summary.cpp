#include "stats/summary.hpp"

#include <algorithm>
#include <stdexcept>

#include "stats/binomial.hpp"

namespace panoramia::stats {
namespace {

constexpr std::string_view kBaseline = "baseline_pred";
constexpr std::string_view kMiaPrefix = "mia_";
constexpr std::string_view kPredSuffix = "_pred";

std::string model_name(std::string_view column) {
  if (column.substr(0, kMiaPrefix.size()) == kMiaPrefix) column.remove_prefix(kMiaPrefix.size());
  if (column.size() > kPredSuffix.size() &&
      column.substr(column.size() - kPredSuffix.size()) == kPredSuffix) {
    column.remove_suffix(kPredSuffix.size());
  }
  return std::string(column);
}

ColumnSummary summarize_column(const std::string& name, const std::vector<double>& scores,
                               const std::vector<int>& member, const SweepOptions& options) {
  const ScoreGroups groups = group_scores(scores, member);
  ColumnSummary column;
  column.name = name;
  column.baseline = name == kBaseline;
  column.measurement = measure(groups, options);
  column.auc = auc(groups);
  for (const double fpr : kReportedFprs)
    column.tpr_at_fpr.push_back({fpr, tpr_at_fpr(groups, fpr)});
  column.roc = roc_curve(groups);
  column.precision_curve = precision_curve(groups, column.measurement.bound);
  return column;
}

}  // namespace

std::vector<PrecisionPoint> precision_curve(const ScoreGroups& groups, double e_max, int thresholds,
                                            double tail) {
  std::vector<PrecisionPoint> curve;
  std::int64_t previous_r = -1;
  double previous_max = 0;
  for (const double tau : linspace_thresholds(thresholds)) {
    const auto [r, v] = groups.count_above(tau);
    if (r == 0) continue;
    PrecisionPoint point;
    point.threshold = tau;
    point.r = r;
    point.v = v;
    point.recall =
        groups.members > 0 ? static_cast<double>(v) / static_cast<double>(groups.members) : 0;
    point.precision = static_cast<double>(v) / static_cast<double>(r);
    // Neighbouring thresholds often share r (no score between them); the quantile depends on r
    // alone.
    point.max_precision = r == previous_r ? previous_max : max_precision(r, e_max, tail);
    previous_r = r;
    previous_max = point.max_precision;
    curve.push_back(point);
  }
  return curve;
}

AuditSummary summarize(const ScoreTable& table, const SweepOptions& options) {
  if (std::find(table.names.begin(), table.names.end(), kBaseline) == table.names.end()) {
    throw std::invalid_argument("score table '" + table.source + "' has no 'baseline_pred' column");
  }
  AuditSummary summary;
  summary.source = table.source;
  summary.m = static_cast<std::int64_t>(table.rows());
  summary.members = std::count(table.member.begin(), table.member.end(), 1);
  summary.options = options;
  for (std::size_t c = 0; c < table.names.size(); ++c) {
    summary.columns.push_back(
        summarize_column(table.names[c], table.scores[c], table.member, options));
  }
  for (const ColumnSummary& column : summary.columns) {
    if (column.baseline) summary.c_lb = column.measurement.bound;
  }
  for (const ColumnSummary& column : summary.columns) {
    if (column.baseline) continue;
    const double bound = column.measurement.bound;
    summary.mias.push_back({column.name, model_name(column.name), bound, bound - summary.c_lb});
  }
  return summary;
}

}  // namespace panoramia::stats
