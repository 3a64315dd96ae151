#include "stats/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
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

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

// Null distributions by tie structure: columns of continuous scores share one.
using NullCache = std::map<std::uint64_t, std::vector<double>>;

ColumnSummary summarize_column(const std::string& name, const std::vector<double>& scores,
                               const std::vector<int>& member, const SweepOptions& options,
                               const CheckOptions& checks, NullCache& nulls) {
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
  const int permutations = checks.null_permutations < 0
                               ? default_null_permutations(options.mode, groups.rows)
                               : checks.null_permutations;
  if (permutations > 0) {
    const std::uint64_t structure = tie_structure_hash(groups);
    auto it = nulls.find(structure);
    if (it == nulls.end()) {
      it = nulls
               .emplace(structure, null_distribution(groups, options, permutations,
                                                     checks.null_seed ^ structure))
               .first;
    }
    column.null = compare_to_null(it->second, column.measurement.bound);
  }
  column.max_bound = max_attainable_bound(groups.members, column.measurement.level);
  column.saturated = column.measurement.bound > 0 &&
                     column.measurement.bound >= (1 - checks.saturation_margin) * column.max_bound;
  if (column.baseline && column.auc >= checks.saturation_auc) column.saturated = true;
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

std::vector<std::string> check_warnings(const AuditSummary& summary) {
  std::vector<std::string> warnings;
  const double margin = 100 * summary.checks.saturation_margin;
  for (const ColumnSummary& c : summary.columns) {
    const std::string what = c.baseline ? "c_lb" : "{eps+c}_lb";
    if (c.null.permutations > 0 && !c.null.above) {
      warnings.push_back(c.name + ": " + what + " = " + fixed(c.measurement.bound) +
                         " is not above the 95th percentile " + fixed(c.null.p95) + " of " +
                         std::to_string(c.null.permutations) +
                         " label permutations, so this column shows no membership signal "
                         "(the audit could not see anything here).");
    }
    if (!c.saturated) continue;
    if (c.baseline) {
      warnings.push_back(
          "c_lb = " + fixed(c.measurement.bound) + " (baseline AUC " + fixed(c.auc) +
          ") is saturated: within " + std::to_string(static_cast<int>(std::lround(margin))) +
          "% of the largest bound attainable here (" + fixed(c.max_bound) +
          ") or AUC >= " + fixed(summary.checks.saturation_auc) +
          ", so the generated data are told apart too easily and eps_tilde cannot be read at this "
          "generator quality; improve the generator or read the real-non-member game "
          "([game] nonmembers = both).");
    } else {
      warnings.push_back(c.name + ": {eps+c}_lb = " + fixed(c.measurement.bound) + " is within " +
                         std::to_string(static_cast<int>(std::lround(margin))) +
                         "% of the largest bound attainable with " +
                         std::to_string(summary.members) + " members at this level (" +
                         fixed(c.max_bound) +
                         "): it only says \"at least this much\"; a larger game (more members) "
                         "could show more.");
    }
  }
  return warnings;
}

AuditSummary summarize(const ScoreTable& table, const SweepOptions& options,
                       const CheckOptions& checks) {
  if (std::find(table.names.begin(), table.names.end(), kBaseline) == table.names.end()) {
    throw std::invalid_argument("score table '" + table.source + "' has no 'baseline_pred' column");
  }
  AuditSummary summary;
  summary.source = table.source;
  summary.m = static_cast<std::int64_t>(table.rows());
  summary.members = std::count(table.member.begin(), table.member.end(), 1);
  summary.options = options;
  summary.checks = checks;
  NullCache nulls;
  for (std::size_t c = 0; c < table.names.size(); ++c) {
    summary.columns.push_back(
        summarize_column(table.names[c], table.scores[c], table.member, options, checks, nulls));
  }
  for (const ColumnSummary& column : summary.columns) {
    if (column.baseline) summary.c_lb = column.measurement.bound;
  }
  for (const ColumnSummary& column : summary.columns) {
    if (column.baseline) continue;
    const double bound = column.measurement.bound;
    summary.mias.push_back({column.name, model_name(column.name), bound, bound - summary.c_lb});
  }
  summary.warnings = check_warnings(summary);
  return summary;
}

}  // namespace panoramia::stats
