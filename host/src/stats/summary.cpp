#include "stats/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "stats/binomial.hpp"
#include "stats/parallel.hpp"

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

// The measured part of a column (no null check yet).
ColumnSummary measure_column(const std::string& name, const ScoreGroups& groups,
                             const SweepOptions& options, const CheckOptions& checks) {
  ColumnSummary column;
  column.name = name;
  column.baseline = name == kBaseline;
  column.measurement = measure(groups, options);
  column.auc = auc(groups);
  for (const double fpr : kReportedFprs)
    column.tpr_at_fpr.push_back({fpr, tpr_at_fpr(groups, fpr)});
  column.roc = roc_curve(groups);
  column.precision_curve = precision_curve(groups, column.measurement.bound);
  column.max_bound = max_attainable_bound(groups.members, column.measurement.level);
  column.saturated = column.measurement.bound > 0 &&
                     column.measurement.bound >= (1 - checks.saturation_margin) * column.max_bound;
  if (column.baseline && column.auc >= checks.saturation_auc) column.saturated = true;
  return column;
}

// Measures every column and checks it against its permutation null, on `workers` threads. A null
// depends on the scores only through their tie structure, so columns of continuous scores share
// one: one distribution per structure, cut into pieces of relabellings (relabelling k always draws
// from seed ^ structure, k). The pieces run in one pool with the columns' measurements, which
// they do not depend on, so the cores stay busy.
void measure_and_check(const std::vector<std::string>& names,
                       const std::vector<ScoreGroups>& groups, std::vector<ColumnSummary>& columns,
                       const SweepOptions& options, const CheckOptions& checks, unsigned workers) {
  struct Null {
    std::size_t column;  // the first column with this structure
    std::uint64_t seed;
    int permutations;
    std::vector<std::vector<double>> pieces;
  };
  std::map<std::uint64_t, std::size_t> by_structure;
  std::vector<Null> nulls;
  std::vector<std::size_t> null_of(names.size(), SIZE_MAX);
  for (std::size_t c = 0; c < names.size(); ++c) {
    const int permutations = checks.null_permutations < 0
                                 ? default_null_permutations(options.mode, groups[c].rows)
                                 : checks.null_permutations;
    if (permutations <= 0) continue;
    const std::uint64_t structure = tie_structure_hash(groups[c]);
    const auto [it, added] = by_structure.emplace(structure, nulls.size());
    if (added) nulls.push_back({c, checks.null_seed ^ structure, permutations, {}});
    null_of[c] = it->second;
  }
  struct Piece {
    std::size_t null;
    std::size_t slot;  // where it goes in its null's pieces
    int first;
    int count;
  };
  std::vector<Piece> pieces;
  for (std::size_t n = 0; n < nulls.size(); ++n) {
    const int k = nulls[n].permutations;
    const int parts = std::min(k, static_cast<int>(std::max(1u, workers)));
    nulls[n].pieces.resize(static_cast<std::size_t>(parts));
    for (int p = 0; p < parts; ++p) {
      const int first = p * k / parts;
      pieces.push_back({n, static_cast<std::size_t>(p), first, (p + 1) * k / parts - first});
    }
  }
  // Tasks 0 .. pieces - 1 are the null pieces (the longest first), then one per column.
  columns.resize(names.size());
  for_each_task(pieces.size() + names.size(), workers, [&](std::size_t i) {
    if (i < pieces.size()) {
      Null& null = nulls[pieces[i].null];
      null.pieces[pieces[i].slot] =
          null_bounds(groups[null.column], options, pieces[i].first, pieces[i].count, null.seed);
    } else {
      const std::size_t c = i - pieces.size();
      columns[c] = measure_column(names[c], groups[c], options, checks);
    }
  });
  std::vector<std::vector<double>> sorted(nulls.size());
  for (std::size_t n = 0; n < nulls.size(); ++n) {
    for (const auto& piece : nulls[n].pieces)
      sorted[n].insert(sorted[n].end(), piece.begin(), piece.end());
    std::sort(sorted[n].begin(), sorted[n].end());
  }
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (null_of[c] != SIZE_MAX)
      columns[c].null = compare_to_null(sorted[null_of[c]], columns[c].measurement.bound);
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
  // Sorting, sweeping and the null run on the available cores; every value lands in its own
  // slot, so the summary is the same on any number of threads.
  const std::size_t n = table.names.size();
  const unsigned workers = available_cores();
  std::vector<ScoreGroups> groups(n);
  for_each_task(n, workers,
                [&](std::size_t c) { groups[c] = group_scores(table.scores[c], table.member); });
  measure_and_check(table.names, groups, summary.columns, options, checks, workers);
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
