#include "stats/sweep.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>

namespace panoramia::stats {
namespace {

constexpr int kReferenceThresholds = 100;

SweepPoint make_point(const ScoreGroups& groups, double threshold, std::int64_t r, std::int64_t v,
                      double bound) {
  SweepPoint point;
  point.threshold = threshold;
  point.r = r;
  point.v = v;
  point.recall =
      groups.members > 0 ? static_cast<double>(v) / static_cast<double>(groups.members) : 0;
  point.precision = r > 0 ? static_cast<double>(v) / static_cast<double>(r) : 0;
  point.bound = bound;
  return point;
}

Measurement from_best(const SweepPoint& best, double level, std::int64_t thresholds) {
  Measurement result;
  result.bound = best.bound;
  result.threshold = best.threshold;
  result.recall = best.recall;
  result.precision = best.precision;
  result.r = best.r;
  result.v = best.v;
  result.level = level;
  result.thresholds = thresholds;
  return result;
}

Measurement measure_reference(const ScoreGroups& groups, const SweepOptions& options) {
  const double level = sweep_level(options, kReferenceThresholds);
  std::vector<SweepPoint> curve;
  curve.reserve(kReferenceThresholds);
  std::size_t best = 0;
  for (const double tau : reference_thresholds()) {
    const auto [r, v] = groups.count_above(tau);
    const double bound = lower_bound({groups.rows, r, v, level}, options.search);
    curve.push_back(make_point(groups, tau, r, v, bound));
    // Strict '>' keeps the first (smallest) threshold among equal maxima, as numpy's argmax does.
    if (bound > curve[best].bound) best = curve.size() - 1;
  }
  Measurement result = from_best(curve[best], level, kReferenceThresholds);
  result.curve = std::move(curve);
  return result;
}

// Indices of the curve's thresholds: evenly spaced over all T of them, plus the maximiser, in
// ascending threshold order (groups are stored in descending order).
std::vector<std::size_t> curve_indices(std::size_t total, std::size_t points, std::size_t best) {
  std::vector<std::size_t> indices;
  if (total <= points) {
    indices.resize(total);
    for (std::size_t j = 0; j < total; ++j) indices[j] = j;
  } else if (points >= 2) {
    for (std::size_t k = 0; k < points; ++k) indices.push_back(k * (total - 1) / (points - 1));
  } else if (points == 1) {
    indices.push_back(total - 1);
  }
  indices.push_back(best);
  std::sort(indices.begin(), indices.end(), std::greater<>());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  return indices;
}

Measurement measure_all(const ScoreGroups& groups, const SweepOptions& options) {
  const auto thresholds = static_cast<std::int64_t>(groups.size());
  const double level = sweep_level(options, thresholds);
  const BestThreshold best = find_best_threshold(groups, level, options.search);
  const auto point_at = [&](std::size_t j, double bound) {
    return make_point(groups, groups.groups[j].value, groups.guesses[j], groups.correct[j], bound);
  };
  Measurement result = from_best(point_at(best.index, best.bound), level, thresholds);
  const auto points = static_cast<std::size_t>(std::max(options.curve_points, 0));
  for (const std::size_t j : curve_indices(groups.size(), points, best.index)) {
    const double bound =
        j == best.index ? best.bound
                        : lower_bound({groups.rows, groups.guesses[j], groups.correct[j], level},
                                      options.search);
    result.curve.push_back(point_at(j, bound));
  }
  return result;
}

}  // namespace

std::vector<double> linspace_thresholds(int count) {
  if (count < 2) throw std::invalid_argument("a threshold grid needs at least 2 points");
  // numpy computes step = 1/(count-1) once and multiplies, then pins the last value to 1;
  // k/(count-1) would differ in the last bit for some k, which matters for scores sitting exactly
  // on a threshold.
  std::vector<double> thresholds(static_cast<std::size_t>(count));
  const double step = 1.0 / static_cast<double>(count - 1);
  for (int k = 0; k < count; ++k)
    thresholds[static_cast<std::size_t>(k)] = static_cast<double>(k) * step;
  thresholds.back() = 1.0;
  return thresholds;
}

std::vector<double> reference_thresholds() {
  return linspace_thresholds(kReferenceThresholds);
}

double sweep_level(const SweepOptions& options, std::int64_t thresholds) {
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    throw std::invalid_argument("the sweep confidence must lie strictly between 0 and 1, got " +
                                std::to_string(options.confidence));
  }
  if (options.measurements < 1 || thresholds < 1) {
    throw std::invalid_argument(
        "the Bonferroni correction needs at least one measurement and one "
        "threshold, got " +
        std::to_string(options.measurements) + " and " + std::to_string(thresholds));
  }
  return (1.0 - options.confidence) /
         (static_cast<double>(options.measurements) * static_cast<double>(thresholds));
}

Measurement measure(const std::vector<double>& scores, const std::vector<int>& member,
                    const SweepOptions& options) {
  return measure(group_scores(scores, member), options);
}

Measurement measure(const ScoreGroups& groups, const SweepOptions& options) {
  if (groups.rows == 0) throw std::invalid_argument("cannot sweep an empty score column");
  return options.mode == ThresholdMode::kReference ? measure_reference(groups, options)
                                                   : measure_all(groups, options);
}

}  // namespace panoramia::stats
