#include "results_io.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "plugin_error.hpp"
#include "repetitions.hpp"

namespace panoramia {
namespace {

std::string fpr_name(double fpr) {
  std::ostringstream s;
  s << "tpr_at_fpr_" << fpr;
  return s.str();
}

using MetricsByAttack = std::map<std::string, std::map<std::string, double>>;

// The null and saturation checks of the generated-non-member game, as stored.
std::string format_checks(MetricsByAttack& by_attack, const std::vector<MeasurementRow>& rows) {
  std::ostringstream out;
  std::vector<std::string> warnings;
  char line[256];
  bool header = false;
  for (const auto& row : rows) {
    auto& m = by_attack[row.column];
    if (!m.count("max_bound")) continue;  // stored before the checks existed
    if (!header) {
      out << "\nchecks (null: the same sweep on random permutations of the member labels):\n";
      std::snprintf(line, sizeof line, "  %-22s %9s %9s %9s %9s  %s\n", "column", "bound",
                    "null p95", "null max", "max bound", "verdict");
      out << line;
      header = true;
    }
    const bool has_null = m.count("null_permutations") != 0;
    std::string verdict = !has_null ? "-" : m["above_null"] > 0 ? "signal" : "no signal";
    if (m["saturated"] > 0) verdict += ", saturated";
    std::snprintf(line, sizeof line, "  %-22s %9.4f %9.4f %9.4f %9.4f  %s\n", row.column.c_str(),
                  row.bound, m["null_p95"], m["null_max"], m["max_bound"], verdict.c_str());
    out << line;
    const char* what = row.baseline ? "c_lb" : "{eps+c}_lb";
    if (has_null && m["above_null"] == 0) {
      std::snprintf(line, sizeof line,
                    "%s: %s = %.4f is not above the null's 95th percentile %.4f (%.0f label "
                    "permutations): no membership signal, the audit could not see anything here",
                    row.column.c_str(), what, row.bound, m["null_p95"], m["null_permutations"]);
      warnings.emplace_back(line);
    }
    if (m["saturated"] > 0 && row.baseline) {
      std::snprintf(line, sizeof line,
                    "c_lb = %.4f (AUC %.4f) is saturated (largest attainable %.4f): eps_tilde "
                    "cannot be read at this generator quality; read the real-non-member game "
                    "([game] nonmembers = both)",
                    row.bound, row.auc, m["max_bound"]);
      warnings.emplace_back(line);
    } else if (m["saturated"] > 0) {
      std::snprintf(line, sizeof line,
                    "%s: {eps+c}_lb = %.4f is within 10%% of the largest attainable %.4f at this "
                    "m: it only says \"at least this much\"",
                    row.column.c_str(), row.bound, m["max_bound"]);
      warnings.emplace_back(line);
    }
  }
  for (const auto& w : warnings) out << "  warning: " << w << "\n";
  return out.str();
}

// The spread of every repeated measurement: mean, sd, the 95% t interval and each value.
std::string format_repetitions(const std::vector<MetricRecord>& stored,
                               std::map<std::string, double>& audit) {
  if (audit["repetitions"] < 2) return "";
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line,
                "\nrepetitions: %.0f target seeds x %.0f games = %.0f; mean, standard deviation "
                "and 95%% t interval of the mean over the repetitions (quote the interval, not one "
                "seed's value):\n",
                audit["target_seeds"], audit["game_seeds"], audit["repetitions"]);
  out << line;
  std::snprintf(line, sizeof line, "  %-28s %-10s %9s %9s %21s  %s\n", "measurement", "metric",
                "mean", "sd", "95% interval", "values");
  out << line;
  for (const RepeatedMetric& r : repeated_metrics(stored)) {
    if (r.name == "auc") continue;  // in export --json; the table keeps to the bounds
    std::string values;
    for (const double v : r.values) {
      char value[32];
      std::snprintf(value, sizeof value, "%s%.4f", values.empty() ? "" : " ", v);
      values += value;
    }
    std::snprintf(line, sizeof line, "  %-28s %-10s %9.4f %9.4f  [%8.4f, %8.4f]  %s\n",
                  r.attack.c_str(), r.name.c_str(), r.spread.mean, r.spread.sd, r.spread.ci_low,
                  r.spread.ci_high, values.c_str());
    out << line;
  }
  return out.str();
}

}  // namespace

std::vector<MetricRecord> summary_metrics(const stats::AuditSummary& summary) {
  std::vector<MetricRecord> out;
  out.push_back({"audit", "m", double(summary.m), {}, {}});
  out.push_back({"audit", "members", double(summary.members), {}, {}});
  out.push_back({"audit", "confidence", summary.options.confidence, {}, {}});
  out.push_back({"audit", "c_lb", summary.c_lb, {}, {}});
  for (const auto& c : summary.columns) {
    const auto& m = c.measurement;
    out.push_back({c.name, c.baseline ? "c_lb" : "eps_c_lb", m.bound, {}, {}});
    out.push_back({c.name, "threshold", m.threshold, {}, {}});
    out.push_back({c.name, "recall", m.recall, {}, {}});
    out.push_back({c.name, "precision", m.precision, {}, {}});
    out.push_back({c.name, "r", double(m.r), {}, {}});
    out.push_back({c.name, "v", double(m.v), {}, {}});
    out.push_back({c.name, "level", m.level, {}, {}});
    out.push_back({c.name, "thresholds", double(m.thresholds), {}, {}});
    out.push_back({c.name, "auc", c.auc, {}, {}});
    for (const auto& t : c.tpr_at_fpr) out.push_back({c.name, fpr_name(t.fpr), t.tpr, {}, {}});
    if (c.null.permutations > 0) {
      out.push_back({c.name, "null_permutations", double(c.null.permutations), {}, {}});
      out.push_back({c.name, "null_p95", c.null.p95, {}, {}});
      out.push_back({c.name, "null_max", c.null.max, {}, {}});
      out.push_back({c.name, "above_null", c.null.above ? 1.0 : 0.0, {}, {}});
    }
    out.push_back({c.name, "max_bound", c.max_bound, {}, {}});
    out.push_back({c.name, "saturated", c.saturated ? 1.0 : 0.0, {}, {}});
  }
  for (const auto& mia : summary.mias)
    out.push_back({mia.column, "eps_tilde", mia.eps_tilde, {}, {}});
  return out;
}

std::vector<CurveRecord> summary_curves(const stats::AuditSummary& summary) {
  std::vector<CurveRecord> out;
  for (const auto& c : summary.columns) {
    nlohmann::json sweep, pr, roc;
    for (const auto& p : c.measurement.curve) {
      sweep["threshold"].push_back(p.threshold);
      sweep["recall"].push_back(p.recall);
      sweep["precision"].push_back(p.precision);
      sweep["bound"].push_back(p.bound);
      sweep["r"].push_back(p.r);
      sweep["v"].push_back(p.v);
    }
    for (const auto& p : c.precision_curve) {
      pr["threshold"].push_back(p.threshold);
      pr["recall"].push_back(p.recall);
      pr["precision"].push_back(p.precision);
      pr["max_precision"].push_back(p.max_precision);
    }
    for (const auto& p : c.roc) {
      roc["threshold"].push_back(std::isfinite(p.threshold) ? p.threshold : 1e300);
      roc["fpr"].push_back(p.fpr);
      roc["tpr"].push_back(p.tpr);
    }
    out.push_back({c.name, "bound_vs_recall", sweep.dump()});
    out.push_back({c.name, "precision_recall", pr.dump()});
    out.push_back({c.name, "roc", roc.dump()});
  }
  return out;
}

void write_reference_csv(const std::vector<ScoreColumn>& all, std::ostream& out) {
  // The generated-non-member game only: a real-non-member game ("real/...") has its own m.
  std::vector<ScoreColumn> scores;
  for (const auto& c : all)
    if (c.attack.find('/') == std::string::npos) scores.push_back(c);
  if (scores.empty()) throw UserError("the run has no stored scores");
  out << "member";
  for (const auto& c : scores) out << "," << c.attack;
  out << "\n";
  const std::size_t n = scores.front().score.size();
  char buf[32];
  for (std::size_t i = 0; i < n; ++i) {
    out << scores.front().member[i];
    for (const auto& c : scores) {
      std::snprintf(buf, sizeof buf, ",%.17g", c.score.at(i));
      out << buf;
    }
    out << "\n";
  }
}

std::string run_to_json(const ResultsDb& db, std::int64_t id) {
  const RunRecord r = db.run(id);
  nlohmann::json j;
  j["run"] = {
      {"id", r.id},
      {"name", r.name},
      {"config_file", r.config_file},
      {"started_at", r.started_at},
      {"ended_at", r.ended_at},
      {"status", r.status},
      {"error", r.error},
      {"seed", r.seed},
      {"config", r.config},
      {"plugins", r.plugins.empty() ? nlohmann::json::object() : nlohmann::json::parse(r.plugins)}};
  for (const auto& s : db.stages(id))
    j["stages"].push_back({{"stage", s.stage},
                           {"cache_key", s.cache_key},
                           {"reused", s.reused},
                           {"started_at", s.started_at},
                           {"seconds", s.seconds}});
  for (const auto& m : db.metrics(id)) {
    nlohmann::json e{{"attack", m.attack}, {"name", m.name}, {"value", m.value}};
    if (m.ci_low) e["ci_low"] = *m.ci_low;
    if (m.ci_high) e["ci_high"] = *m.ci_high;
    j["metrics"].push_back(e);
  }
  for (const auto& c : db.curves(id)) j["curves"][c.attack][c.name] = nlohmann::json::parse(c.data);
  for (const RepeatedMetric& r : repeated_metrics(db.metrics(id))) {
    j["repetitions"].push_back({{"attack", r.attack},
                                {"name", r.name},
                                {"labels", r.labels},
                                {"values", r.values},
                                {"mean", r.spread.mean},
                                {"sd", r.spread.sd},
                                {"ci_low", r.spread.ci_low},
                                {"ci_high", r.spread.ci_high},
                                {"interval",
                                 "95% Student t interval of the mean (over the trainings' means "
                                 "when there are several)"}});
  }
  return j.dump(2);
}

std::vector<MeasurementRow> measurement_rows(const ResultsDb& db, std::int64_t run) {
  std::vector<MeasurementRow> rows;
  std::map<std::string, std::size_t> index;
  for (const auto& m : db.metrics(run)) {
    // "real/..." and "o1/..." belong to the comparison modes, shown separately.
    if (m.attack == "audit" || m.attack == "generator" || m.attack.find('/') != std::string::npos)
      continue;
    auto it = index.find(m.attack);
    if (it == index.end()) {
      it = index.emplace(m.attack, rows.size()).first;
      rows.push_back(MeasurementRow{m.attack});
    }
    MeasurementRow& r = rows[it->second];
    if (m.name == "c_lb") {
      r.bound = m.value;
      r.baseline = true;
    } else if (m.name == "eps_c_lb") {
      r.bound = m.value;
    } else if (m.name == "threshold") {
      r.threshold = m.value;
    } else if (m.name == "recall") {
      r.recall = m.value;
    } else if (m.name == "precision") {
      r.precision = m.value;
    } else if (m.name == "auc") {
      r.auc = m.value;
    } else if (m.name == fpr_name(0.1)) {
      r.tpr_10 = m.value;
    } else if (m.name == fpr_name(0.01)) {
      r.tpr_1 = m.value;
    } else if (m.name == fpr_name(0.001)) {
      r.tpr_01 = m.value;
    } else if (m.name == "eps_tilde") {
      r.eps_tilde = m.value;
    }
  }
  return rows;
}

std::string measurement_header() {
  char line[256];
  std::snprintf(line, sizeof line, "  %-22s %9s %9s %9s %8s %9s %7s %9s %9s %9s\n", "column",
                "bound", "eps_tilde", "threshold", "recall", "precision", "AUC", "TPR@10%",
                "TPR@1%", "TPR@0.1%");
  return line;
}

std::string format_measurement_row(const MeasurementRow& r) {
  char tilde[32] = "-";
  if (!r.baseline) std::snprintf(tilde, sizeof tilde, "%.4f", r.eps_tilde);
  char line[256];
  std::snprintf(line, sizeof line, "  %-22s %9.4f %9s %9.4f %8.4f %9.4f %7.4f %9.4f %9.4f %9.4f\n",
                r.column.c_str(), r.bound, tilde, r.threshold, r.recall, r.precision, r.auc,
                r.tpr_10, r.tpr_1, r.tpr_01);
  return line;
}

std::vector<AttackRow> attack_rows(const std::vector<MetricRecord>& metrics,
                                   const std::string& primary) {
  std::map<std::string, std::map<std::string, const MetricRecord*>> by;
  std::vector<std::string> listed, columns;
  const std::string kListed = "attacks/";
  for (const auto& m : metrics) {
    by[m.attack][m.name] = &m;
    if (m.attack.rfind(kListed, 0) == 0) {
      const auto slash = m.attack.find('/', kListed.size());
      const std::string name = m.attack.substr(kListed.size(), slash - kListed.size());
      if (std::find(listed.begin(), listed.end(), name) == listed.end()) listed.push_back(name);
    } else if (m.attack.find('/') == std::string::npos && m.attack != "audit" &&
               m.attack != "generator" &&
               std::find(columns.begin(), columns.end(), m.attack) == columns.end()) {
      columns.push_back(m.attack);
    }
  }
  std::vector<AttackRow> rows;
  if (listed.empty()) return rows;
  std::vector<std::pair<std::string, std::string>> attacks{{"", primary}};
  for (const auto& name : listed) attacks.emplace_back(kListed + name + "/", name);
  const auto value = [&](const std::string& attack,
                         const std::string& name) -> const MetricRecord* {
    const auto a = by.find(attack);
    if (a == by.end()) return nullptr;
    const auto n = a->second.find(name);
    return n == a->second.end() ? nullptr : n->second;
  };
  const auto spread_of = [&](const std::string& attack,
                             const std::string& name) -> std::optional<stats::Spread> {
    const MetricRecord* mean = value("repeat/" + attack, name);
    if (mean == nullptr || !mean->ci_low || !mean->ci_high) return std::nullopt;
    stats::Spread s;
    s.mean = mean->value;
    s.ci_low = *mean->ci_low;
    s.ci_high = *mean->ci_high;
    if (const MetricRecord* sd = value("repeat/" + attack, name + "_sd")) s.sd = sd->value;
    return s;
  };
  for (const auto& [prefix, name] : attacks) {
    for (const auto& column : columns) {
      const std::string key = prefix + column;
      if (!by.count(key)) continue;
      AttackRow row;
      row.attack = name;
      row.column = column;
      row.baseline = value(key, "c_lb") != nullptr;
      const std::string bound_name = row.baseline ? "c_lb" : "eps_c_lb";
      if (const auto* m = value(key, bound_name)) row.bound = m->value;
      if (const auto* m = value(key, "eps_tilde")) row.eps_tilde = m->value;
      if (const auto* m = value(key, "auc")) row.auc = m->value;
      if (const auto* m = value(key, fpr_name(0.01))) row.tpr_1 = m->value;
      if (const auto* m = value(key, fpr_name(0.001))) row.tpr_01 = m->value;
      if (value(key, "null_permutations") != nullptr)
        row.signal = value(key, "above_null") != nullptr && value(key, "above_null")->value > 0;
      if (!row.baseline)
        if (const auto* m = value(prefix + "real/" + column, "eps_c_lb")) row.real_bound = m->value;
      if (const auto* m = value(prefix + "audit", "attack_seconds")) row.seconds = m->value;
      row.bound_spread = spread_of(key, bound_name);
      if (!row.baseline) row.eps_tilde_spread = spread_of(key, "eps_tilde");
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string format_attack_table(const std::vector<AttackRow>& rows) {
  if (rows.empty()) return "";
  const bool spreads = std::any_of(rows.begin(), rows.end(),
                                   [](const AttackRow& r) { return r.bound_spread.has_value(); });
  std::ostringstream out;
  char line[512];
  out << "\nattacks side by side (same generator, target and reference models; bound: c_lb for "
         "the baseline, {eps+c}_lb for an MIA):\n";
  // Columns as wide as the longest attack and side names (at most 64: names come from the file).
  int attack_width = 16, side_width = 18;
  for (const auto& r : rows) {
    attack_width =
        std::max(attack_width, static_cast<int>(std::min<std::size_t>(r.attack.size(), 64)));
    side_width = std::max(side_width, static_cast<int>(std::min<std::size_t>(r.column.size(), 64)));
  }
  std::snprintf(line, sizeof line, "  %-*s %-*s %9s %9s %7s %8s %9s %10s %9s%s\n", attack_width,
                "attack", side_width, "side", "bound", "eps_tilde", "AUC", "TPR@1%", "TPR@0.1%",
                "real bound", "seconds",
                spreads ? "   bound 95% interval    eps_tilde 95% interval" : "");
  out << line;
  bool any_null = false;
  for (const auto& r : rows) {
    char tilde[32] = "-", real[32] = "-", intervals[96] = "";
    if (!r.baseline) std::snprintf(tilde, sizeof tilde, "%.4f", r.eps_tilde);
    if (r.real_bound) std::snprintf(real, sizeof real, "%.4f", *r.real_bound);
    if (r.bound_spread) {
      char e[40] = "-";
      if (r.eps_tilde_spread)
        std::snprintf(e, sizeof e, "[%7.4f, %7.4f]", r.eps_tilde_spread->ci_low,
                      r.eps_tilde_spread->ci_high);
      std::snprintf(intervals, sizeof intervals, "   [%7.4f, %7.4f]  %s", r.bound_spread->ci_low,
                    r.bound_spread->ci_high, e);
    }
    any_null = any_null || !r.signal;
    std::snprintf(line, sizeof line, "  %-*s %-*s %8.4f%s %9s %7.4f %8.4f %9.4f %10s %9.2f%s\n",
                  attack_width, r.attack.c_str(), side_width, r.column.c_str(), r.bound,
                  r.signal ? " " : "*", tilde, r.auc, r.tpr_1, r.tpr_01, real, r.seconds,
                  intervals);
    out << line;
  }
  if (any_null)
    out << "  * not above the null's 95th percentile: this attack saw no membership signal here\n";
  if (spreads)
    out << "  bound and eps_tilde columns: the first repetition; intervals: 95% t over the "
           "repetitions\n";
  return out.str();
}

std::string primary_attack(const RunRecord& run) {
  try {
    const auto plugins = nlohmann::json::parse(run.plugins);
    if (plugins.contains("attack") && plugins["attack"].contains("plugin") &&
        plugins["attack"]["plugin"].is_string())
      return plugins["attack"]["plugin"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
    // A run stored without (or with an unreadable) plugins record: the generic name.
  }
  return "attack";
}

std::string format_run(const ResultsDb& db, std::int64_t id) {
  const RunRecord r = db.run(id);
  std::ostringstream out;
  out << "run " << r.id << " (" << r.name << ")  status " << r.status << "\n";
  out << "  config " << r.config_file << "  seed " << r.seed << "\n";
  out << "  started " << r.started_at << "  ended " << (r.ended_at.empty() ? "-" : r.ended_at)
      << "\n";
  if (!r.error.empty()) out << "  error: " << r.error << "\n";
  out << "  plugins " << r.plugins << "\n";
  const auto stages = db.stages(id);
  if (!stages.empty()) {
    out << "\nstages:\n";
    // As wide as the longest stage name (a listed attack's are long: attack-real-NAME-SIDE).
    int width = 18;
    for (const auto& s : stages) width = std::max(width, static_cast<int>(s.stage.size()));
    for (const auto& s : stages) {
      char line[512];
      std::snprintf(line, sizeof line, "  %-*s %9.2f s  %s  %s\n", width, s.stage.c_str(),
                    s.seconds, s.reused ? "cached  " : "computed", s.cache_key.c_str());
      out << line;
    }
  }
  std::map<std::string, std::map<std::string, double>> by_attack;
  std::vector<std::string> order;
  for (const auto& m : db.metrics(id)) {
    if (!by_attack.count(m.attack)) order.push_back(m.attack);
    by_attack[m.attack][m.name] = m.value;
  }
  if (by_attack.empty()) return out.str();
  out << "\nmeasurements:\n" << measurement_header();
  for (const auto& row : measurement_rows(db, id)) out << format_measurement_row(row);
  char line[256];
  auto& audit = by_attack["audit"];
  std::snprintf(line, sizeof line, "\n  m = %.0f (%.0f members), confidence %.3g\n", audit["m"],
                audit["members"], audit["confidence"]);
  out << line;
  std::snprintf(line, sizeof line, "  c_lb = %.4f\n", audit["c_lb"]);
  out << line;
  for (const auto& name : order) {
    auto& m = by_attack[name];
    if (!m.count("eps_tilde") || name.find('/') != std::string::npos) continue;
    std::snprintf(line, sizeof line, "  %-22s {eps+c}_lb = %.4f   eps_tilde = %.4f\n", name.c_str(),
                  m["eps_c_lb"], m["eps_tilde"]);
    out << line;
  }
  // O(1) and real-non-member PANORAMIA beside the generated game, per model variant.
  std::vector<std::string> variants;
  for (const auto& row : measurement_rows(db, id))
    if (!row.baseline && row.column.rfind("mia_", 0) == 0)
      variants.push_back(row.column.substr(4, row.column.size() - 9));
  const bool has_o1 = !variants.empty() && by_attack.count("o1/" + variants.front());
  const bool has_real = by_attack.count("real/audit") != 0;
  const bool has_fdp = !variants.empty() && by_attack.count("fdp/" + variants.front());
  if (has_o1 || has_real) {
    out << "\ncomparison (same target):\n";
    std::snprintf(line, sizeof line, "  %-12s %12s %11s %12s %16s %10s %16s %10s\n", "variant",
                  "O(1) eps_lb", "f-DP mu_lb", "f-DP eps_lb", "real {eps+c}_lb", "gen c_lb",
                  "gen {eps+c}_lb", "gen eps~");
    out << line;
    for (const auto& v : variants) {
      const std::string col = "mia_" + v + "_pred";
      char o1[32] = "-", rn[32] = "-", mu[32] = "-", fe[32] = "-";
      if (has_o1)
        std::snprintf(o1, sizeof o1, "%.4f%s", by_attack["o1/" + v]["eps_lb"],
                      by_attack["o1/" + v]["optimistic"] > 0 ? "*" : "");
      if (has_fdp) {
        std::snprintf(mu, sizeof mu, "%.4f", by_attack["fdp/" + v]["mu_lb"]);
        std::snprintf(fe, sizeof fe, "%.4f", by_attack["fdp/" + v]["eps_lb"]);
      }
      if (has_real) std::snprintf(rn, sizeof rn, "%.4f", by_attack["real/" + col]["eps_c_lb"]);
      std::snprintf(line, sizeof line, "  %-12s %12s %11s %12s %16s %10.4f %16.4f %10.4f\n",
                    v.c_str(), o1, mu, fe, rn, audit["c_lb"], by_attack[col]["eps_c_lb"],
                    by_attack[col]["eps_tilde"]);
      out << line;
    }
    if (has_o1 && by_attack["o1/" + variants.front()]["optimistic"] > 0)
      out << "  * selection = reference: optimistic, not corrected for choosing the thresholds\n";
    if (has_fdp) {
      std::snprintf(
          line, sizeof line,
          "  f-DP (Mahloujifar et al. 2025): mu_lb rejects mu-Gaussian DP; eps_lb is that "
          "Gaussian curve's eps at delta %.3g, a bound on eps only for targets whose "
          "privacy curve is Gaussian (DP-SGD); O(1) eps_lb holds for any target\n",
          by_attack["fdp/" + variants.front()]["delta"]);
      out << line;
    }
  }
  out << format_repetitions(db.metrics(id), audit);
  out << format_attack_table(attack_rows(db.metrics(id), primary_attack(r)));
  out << format_checks(by_attack, measurement_rows(db, id));
  if (by_attack.count("generator")) {
    out << "\ngenerator closeness to held-out real data (the reader's measures, 0: the same "
           "distribution):\n";
    for (const auto& [k, v] : by_attack["generator"]) {
      std::snprintf(line, sizeof line, "  %-28s %.4f\n", k.c_str(), v);
      out << line;
    }
  }
  out << "\n  eps_tilde = {eps+c}_lb - c_lb is a leakage measurement, not a proven lower bound on "
         "eps.\n";
  return out.str();
}

}  // namespace panoramia
