#pragma once
// Repetitions of one audit (target seeds × game seeds): per-repetition rows and their spread, as
// stored in the results database and shown by `show`, `export`, `compare` and `report`.
//
// Stored rows (metrics table):
//   rep/<label>/<attack>  <name>        one repetition's value (label t<i>g<j>)
//   repeat/<attack>       <name>        the mean, with the 95% t interval in ci_low/ci_high
//   repeat/<attack>       <name>_sd     the sample standard deviation
//   audit                 repetitions, target_seeds, game_seeds
// for the measurements a user quotes: c_lb, {ε+c}_lb, ε̃ and AUC of every column, the same of the
// real-non-member game, and every one-run bound (O(1), f-DP).

#include <map>
#include <string>
#include <vector>

#include "results_db.hpp"
#include "stats/spread.hpp"

namespace panoramia {

/// One repetition's metrics, as `summary_metrics` and the comparison modes produce them.
struct Repetition {
  std::string label;
  std::vector<MetricRecord> metrics;
};

/// Mean, standard deviation (over every repetition) and 95% interval of one measurement. The
/// repetitions are nested (the games of one training share its models), so with several trainings
/// the interval is Student's t over the trainings' means (T − 1 degrees of freedom); with one
/// training, over its games, except for the one-run audits (o1/, fdp/), which do not depend on the
/// game and so get no interval (`ci_low == ci_high`). `labels` are t<i>g<j>.
stats::Spread repetition_spread(const std::string& attack, const std::vector<std::string>& labels,
                                const std::vector<double>& values, double confidence = 0.95);

/// True for the (attack, name) pairs whose spread is reported.
bool repeated_metric(const std::string& attack, const std::string& name);

/// The per-repetition and aggregated rows described above (none when there is one repetition).
std::vector<MetricRecord> repetition_metrics(const std::vector<Repetition>& repetitions,
                                             std::int64_t target_seeds, std::int64_t game_seeds,
                                             double confidence = 0.95);

/// One measurement over the repetitions of a stored run.
struct RepeatedMetric {
  std::string attack;
  std::string name;
  std::vector<std::string> labels;
  std::vector<double> values;
  stats::Spread spread;
};

/// Every repeated measurement of a stored run, from its rep/ rows, in stored order.
std::vector<RepeatedMetric> repeated_metrics(const std::vector<MetricRecord>& stored);

}  // namespace panoramia
