#include "repetitions.hpp"

#include <algorithm>
#include <cmath>

namespace panoramia {
namespace {

constexpr const char* kRepPrefix = "rep/";

// "rep/<label>/<attack>" → label and attack; false for other rows.
bool split_rep(const std::string& attack, std::string& label, std::string& inner) {
  if (attack.rfind(kRepPrefix, 0) != 0) return false;
  const auto slash = attack.find('/', 4);
  if (slash == std::string::npos) return false;
  label = attack.substr(4, slash - 4);
  inner = attack.substr(slash + 1);
  return true;
}

// "t<i>g<j>" → "t<i>": the training a repetition belongs to.
std::string training_of(const std::string& label) {
  const auto g = label.find('g');
  return g == std::string::npos ? label : label.substr(0, g);
}

// The one-run audits see the target only (their canaries, coins and losses do not change with
// the game), so their games are copies, not repetitions.
bool game_invariant(const std::string& attack) {
  return attack.rfind("o1/", 0) == 0 || attack.rfind("fdp/", 0) == 0;
}

}  // namespace

stats::Spread repetition_spread(const std::string& attack, const std::vector<std::string>& labels,
                                const std::vector<double>& values, double confidence) {
  // Games share their training, so the repetitions are nested: with several trainings the
  // interval is the t interval over the trainings' means (one value per training, T − 1 degrees
  // of freedom); with one training it is over its games, except for the one-run audits, whose
  // games are copies (no interval: one independent value).
  std::vector<std::string> trainings;
  std::map<std::string, std::pair<double, int>> sums;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string t = training_of(labels.at(i));
    if (!sums.count(t)) trainings.push_back(t);
    sums[t].first += values[i];
    sums[t].second += 1;
  }
  std::vector<double> independent;
  if (trainings.size() > 1) {
    for (const auto& t : trainings) independent.push_back(sums[t].first / sums[t].second);
  } else if (game_invariant(attack)) {
    independent.push_back(values.front());
  } else {
    independent = values;
  }
  stats::Spread interval = stats::spread(independent, confidence);
  const stats::Spread all = stats::spread(values, confidence);
  interval.mean = all.mean;  // the same when every training has as many games
  interval.sd = all.sd;      // the spread of the repetitions themselves
  interval.n = values.size();
  return interval;
}

bool repeated_metric(const std::string& attack, const std::string& name) {
  // An attack of [attacks] list ("attacks/NAME/<row>"): the same rule as the [attack] plugin's.
  if (attack.rfind("attacks/", 0) == 0) {
    const auto slash = attack.find('/', 8);
    return slash != std::string::npos && repeated_metric(attack.substr(slash + 1), name);
  }
  if (attack == "audit" || attack == "generator" || attack == "real/audit") return false;
  // The real-non-member game quotes its MIA bounds only: its eps_tilde and baseline have no use
  // (c = 0 there).
  if (attack.rfind("real/", 0) == 0) return name == "eps_c_lb" || name == "auc";
  if (attack.rfind("o1/", 0) == 0 || attack.rfind("fdp/", 0) == 0)
    return name == "eps_lb" || name == "mu_lb";
  return name == "c_lb" || name == "eps_c_lb" || name == "eps_tilde" || name == "auc";
}

std::vector<MetricRecord> repetition_metrics(const std::vector<Repetition>& repetitions,
                                             std::int64_t target_seeds, std::int64_t game_seeds,
                                             double confidence) {
  std::vector<MetricRecord> out;
  if (repetitions.size() < 2) return out;
  out.push_back({"audit", "repetitions", double(repetitions.size()), {}, {}});
  out.push_back({"audit", "target_seeds", double(target_seeds), {}, {}});
  out.push_back({"audit", "game_seeds", double(game_seeds), {}, {}});
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::vector<double>> values;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> labels;
  for (const Repetition& rep : repetitions) {
    for (const MetricRecord& m : rep.metrics) {
      if (!repeated_metric(m.attack, m.name)) continue;
      const auto key = std::make_pair(m.attack, m.name);
      if (!values.count(key)) order.push_back(key);
      values[key].push_back(m.value);
      labels[key].push_back(rep.label);
      out.push_back({kRepPrefix + rep.label + "/" + m.attack, m.name, m.value, {}, {}});
    }
  }
  for (const auto& key : order) {
    const std::vector<double>& v = values[key];
    // A measurement missing from some repetition (it cannot be, the grid is uniform) or undefined
    // (an AUC with an empty class) gets no interval rather than a wrong one.
    if (v.size() != repetitions.size() ||
        std::any_of(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }))
      continue;
    const stats::Spread s = repetition_spread(key.first, labels[key], v, confidence);
    out.push_back({"repeat/" + key.first, key.second, s.mean, s.ci_low, s.ci_high});
    out.push_back({"repeat/" + key.first, key.second + "_sd", s.sd, {}, {}});
  }
  return out;
}

std::vector<RepeatedMetric> repeated_metrics(const std::vector<MetricRecord>& stored) {
  std::vector<RepeatedMetric> out;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  double confidence = 0.95;
  for (const MetricRecord& m : stored) {
    std::string label, inner;
    if (!split_rep(m.attack, label, inner)) continue;
    const auto key = std::make_pair(inner, m.name);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, out.size()).first;
      out.push_back(RepeatedMetric{inner, m.name, {}, {}, {}});
    }
    out[it->second].labels.push_back(label);
    out[it->second].values.push_back(m.value);
  }
  for (RepeatedMetric& r : out) {
    if (std::all_of(r.values.begin(), r.values.end(), [](double x) { return std::isfinite(x); }))
      r.spread = repetition_spread(r.attack, r.labels, r.values, confidence);
  }
  return out;
}

}  // namespace panoramia
