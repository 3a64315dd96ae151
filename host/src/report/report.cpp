#include "report/report.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "plugin_error.hpp"
#include "repetitions.hpp"
#include "report/base64.hpp"
#include "report/gnuplot.hpp"
#include "results_io.hpp"

namespace panoramia::report {
namespace {

constexpr int kHistogramBins = 20;

const char* kStyle = R"css(
body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.note{color:#555;font-style:italic}.status-failed{color:#b00}.status-completed{color:#070}
figure{margin:1em 1em 1em 0;display:inline-block;vertical-align:top;width:520px}
figure svg{width:520px;height:auto}figcaption{font-size:.9em;color:#444}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
img.grid{image-rendering:pixelated;border:1px solid #ddd;height:7em;display:block}table.samples td{font-size:.85em}
)css";

std::vector<double> json_vector(const nlohmann::json& j, const std::string& key) {
  std::vector<double> out;
  if (!j.contains(key)) return out;
  for (const auto& v : j.at(key)) out.push_back(v.is_number() ? v.get<double>() : NAN);
  return out;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string td(double v) {
  return "<td data-value=\"" + std::to_string(v) + "\">" + fmt(v) + "</td>";
}

// Everything the report shows of a run, read from the database once.
struct RunData {
  RunRecord run;
  std::vector<MetricRecord> metric_records;
  std::vector<StageRecord> stages;
  std::vector<ScoreColumn> scores;
  std::vector<PreviewRecord> previews;
  std::vector<MeasurementRow> rows;
  std::map<std::string, std::map<std::string, nlohmann::json>> curves;  // column -> name -> data
  std::map<std::string, double> audit;
  std::map<std::string, std::map<std::string, double>> metrics;  // attack -> name -> value
};

RunData load_run(const ResultsDb& db, std::int64_t id) {
  RunData d;
  d.run = db.run(id);
  d.metric_records = db.metrics(id);
  d.rows = measurement_rows(db, id);
  for (const auto& c : db.curves(id)) d.curves[c.attack][c.name] = nlohmann::json::parse(c.data);
  for (const auto& m : d.metric_records) {
    if (m.attack == "audit") d.audit[m.name] = m.value;
    d.metrics[m.attack][m.name] = m.value;
  }
  return d;
}

bool wanted(const std::string& column, const std::vector<std::string>& attacks) {
  if (attacks.empty()) return true;
  for (const auto& a : attacks)
    if (column == a || column == a + "_pred" || column == "mia_" + a + "_pred") return true;
  return false;
}

std::string config_value(const std::string& ini, const std::string& section,
                         const std::string& key) {
  std::istringstream in(ini);
  std::string line, current;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '[') current = line.substr(1, line.find(']') - 1);
    if (current == section && line.rfind(key + " = ", 0) == 0) return line.substr(key.size() + 3);
  }
  return "";
}

class PlotWriter {
 public:
  explicit PlotWriter(std::filesystem::path dir) : dir_(std::move(dir)), ok_(gnuplot_available()) {}
  // Returns a figure (SVG inline) or a note when gnuplot is missing or failed.
  std::string figure(const std::string& name, const Plot& plot, const std::string& caption) {
    if (!ok_) return "";
    // The id names a file: stored column names (e.g. real/baseline_pred) are not file names.
    std::string id = name;
    for (char& c : id)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    std::filesystem::create_directories(dir_);
    const auto png = dir_ / (id + ".png");
    try {
      const std::string svg = render(plot, png);
      pngs_.push_back(png);
      return "<figure id=\"" + id + "\" class=\"plot\">" + svg + "<figcaption>" +
             html_escape(caption) + " (<a href=\"" + dir_.filename().string() + "/" + id +
             ".png\">PNG</a>)</figcaption></figure>\n";
    } catch (const std::exception& e) {
      return "<p class=\"note\">" + html_escape(e.what()) + "</p>";
    }
  }
  bool available() const { return ok_; }
  const std::vector<std::filesystem::path>& pngs() const { return pngs_; }

 private:
  std::filesystem::path dir_;
  bool ok_;
  std::vector<std::filesystem::path> pngs_;
};

std::string summary_table(const RunData& d, const std::vector<std::string>& attacks,
                          bool with_run) {
  std::ostringstream out;
  out << "<table class=\"summary\"><tr>" << (with_run ? "<th>run</th>" : "")
      << "<th>column</th><th>bound</th><th>&epsilon;&#771;</th><th>threshold</th><th>recall</th>"
         "<th>precision</th><th>AUC</th><th>TPR@10%FPR</th><th>TPR@1%FPR</th>"
         "<th>TPR@0.1%FPR</th></tr>\n";
  for (const auto& r : d.rows) {
    if (!wanted(r.column, attacks)) continue;
    out << "<tr data-column=\"" << html_escape(r.column) << "\">";
    if (with_run) out << "<td>" << d.run.id << "</td>";
    out << "<td>" << html_escape(r.column)
        << (r.baseline ? " (c<sub>lb</sub>)" : " ({&epsilon;+c}<sub>lb</sub>)") << "</td>"
        << td(r.bound) << (r.baseline ? "<td>-</td>" : td(r.eps_tilde)) << td(r.threshold)
        << td(r.recall) << td(r.precision) << td(r.auc) << td(r.tpr_10) << td(r.tpr_1)
        << td(r.tpr_01) << "</tr>\n";
  }
  return out.str() + "</table>\n";
}

Plot bound_plot(const std::vector<const RunData*>& runs, const std::vector<std::string>& attacks,
                bool label_runs) {
  Plot p{"Lower bound vs recall",
         "recall",
         "lower bound (c_lb / {eps+c}_lb)",
         false,
         false,
         "[0:1]",
         "[0:*]",
         {}};
  for (const auto* d : runs)
    for (const auto& r : d->rows) {
      if (!wanted(r.column, attacks)) continue;
      const auto& curve = d->curves.at(r.column).at("bound_vs_recall");
      const std::string name =
          (label_runs ? "run " + std::to_string(d->run.id) + " " : "") + r.column;
      p.series.push_back(
          {name, json_vector(curve, "recall"), json_vector(curve, "bound"), "lines"});
      p.series.push_back({"max " + name, {0.0, 1.0}, {r.bound, r.bound}, "dashed"});
    }
  return p;
}

// An empty log-log ROC plot on [1e-4, 1] x [1e-4, 1].
Plot roc_axes(std::string title) {
  return Plot{std::move(title),
              "false positive rate",
              "true positive rate",
              true,
              true,
              "[1e-4:1]",
              "[1e-4:1]",
              {}};
}

Plot roc_plot(const std::vector<const RunData*>& runs, const std::vector<std::string>& attacks,
              bool label_runs) {
  Plot p = roc_axes("ROC (log-log)");
  for (const auto* d : runs)
    for (const auto& r : d->rows) {
      if (!wanted(r.column, attacks)) continue;
      const auto& curve = d->curves.at(r.column).at("roc");
      const std::string name =
          (label_runs ? "run " + std::to_string(d->run.id) + " " : "") + r.column;
      p.series.push_back({name, json_vector(curve, "fpr"), json_vector(curve, "tpr"), "lines"});
    }
  p.series.push_back({"chance", {1e-4, 1.0}, {1e-4, 1.0}, "dashed"});
  return p;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// One strip per repeated measurement: a dot per repetition, the mean as a tick and its 95%
// interval as a bar, on one shared axis. Drawn here as SVG (no gnuplot needed, nothing stored
// reaches a command).
std::string strip_plot(const std::vector<RepeatedMetric>& metrics) {
  double lo = 0, hi = 0;
  bool first = true;
  for (const auto& m : metrics) {
    for (const double v : m.values) {
      lo = first ? v : std::min(lo, v);
      hi = first ? v : std::max(hi, v);
      first = false;
    }
    lo = std::min(lo, m.spread.ci_low);
    hi = std::max(hi, m.spread.ci_high);
  }
  if (first) return "";
  if (hi - lo < 1e-9) hi = lo + 1;
  constexpr double kLeft = 260, kWidth = 560, kRow = 22;
  const auto x = [&](double v) { return kLeft + (v - lo) / (hi - lo) * kWidth; };
  std::ostringstream svg;
  const double height = kRow * static_cast<double>(metrics.size()) + 30;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"repetition-strips\" width=\""
      << kLeft + kWidth + 20 << "\" height=\"" << height << "\" font-size=\"11\">\n";
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    const double y = kRow * static_cast<double>(i) + 14;
    svg << "<text x=\"4\" y=\"" << y + 4 << "\">" << html_escape(m.attack + " " + m.name)
        << "</text>\n";
    svg << "<line x1=\"" << x(m.spread.ci_low) << "\" x2=\"" << x(m.spread.ci_high) << "\" y1=\""
        << y << "\" y2=\"" << y << "\" stroke=\"#999\" stroke-width=\"4\"/>\n";
    svg << "<line x1=\"" << x(m.spread.mean) << "\" x2=\"" << x(m.spread.mean) << "\" y1=\""
        << y - 7 << "\" y2=\"" << y + 7 << "\" stroke=\"#000\" stroke-width=\"2\"/>\n";
    for (const double v : m.values)
      svg << "<circle cx=\"" << x(v) << "\" cy=\"" << y << "\" r=\"3\" fill=\"#1f77b4\"/>\n";
  }
  const double axis = kRow * static_cast<double>(metrics.size()) + 8;
  svg << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + kWidth << "\" y1=\"" << axis << "\" y2=\""
      << axis << "\" stroke=\"#000\"/>\n";
  svg << "<text x=\"" << kLeft << "\" y=\"" << axis + 14 << "\">" << fmt(lo) << "</text>\n";
  svg << "<text x=\"" << kLeft + kWidth - 40 << "\" y=\"" << axis + 14 << "\">" << fmt(hi)
      << "</text>\n</svg>\n";
  return svg.str();
}

std::string repetitions_section(const std::vector<MetricRecord>& records) {
  std::vector<RepeatedMetric> metrics;
  for (auto& m : repeated_metrics(records))
    if (m.name != "auc") metrics.push_back(std::move(m));
  if (metrics.empty()) return "";
  std::ostringstream body;
  body << "<h2>Repetitions</h2>\n<p>Each measurement over " << metrics.front().values.size()
       << " repetitions (target seeds &times; games): mean, standard deviation and the 95% Student "
          "t interval of the mean. Quote the interval, not one seed's value.</p>\n"
       << "<table id=\"repetitions\"><tr><th>measurement</th><th>metric</th><th>mean</th>"
          "<th>sd</th><th>95% interval</th><th>values</th></tr>\n";
  for (const auto& m : metrics) {
    std::string values;
    for (const double v : m.values) values += (values.empty() ? "" : " ") + fmt(v);
    body << "<tr><td>" << html_escape(m.attack) << "</td><td>" << html_escape(m.name) << "</td>"
         << td(m.spread.mean) << td(m.spread.sd) << "<td>[" << fmt(m.spread.ci_low) << ", "
         << fmt(m.spread.ci_high) << "]</td><td>" << values << "</td></tr>\n";
  }
  body << "</table>\n<figure>" << strip_plot(metrics)
       << "<figcaption>Per-repetition values (dots), mean (tick) and 95% interval "
          "(bar).</figcaption>"
          "</figure>\n";
  return body.str();
}

}  // namespace

// The one-run audits and the real-non-member game beside the generated game, per model variant
// (what `show` prints under "comparison (same target)").
std::string comparison_section(const RunData& d) {
  const auto value = [&d](const std::string& attack, const std::string& name) -> const double* {
    const auto a = d.metrics.find(attack);
    if (a == d.metrics.end()) return nullptr;
    const auto m = a->second.find(name);
    return m == a->second.end() ? nullptr : &m->second;
  };
  const auto cell = [](const double* v, const char* suffix = "") {
    return "<td>" + (v ? fmt(*v) + suffix : std::string("&ndash;")) + "</td>";
  };
  std::ostringstream out;
  out << "<h2>Comparison on the same target</h2>\n";
  std::vector<std::string> variants;
  for (const auto& r : d.rows)
    if (!r.baseline && r.column.rfind("mia_", 0) == 0 && r.column.size() > 9 &&
        r.column.compare(r.column.size() - 5, 5, "_pred") == 0)
      variants.push_back(r.column.substr(4, r.column.size() - 9));
  bool any = false;
  for (const auto& v : variants)
    any |= value("o1/" + v, "eps_lb") || value("real/mia_" + v + "_pred", "eps_c_lb");
  if (!any) {
    out << "<p class=\"note\" id=\"comparison\">This run has neither the one-run audits "
           "([o1] canaries) nor the real-non-member game ([game] nonmembers = both).</p>\n";
    return out.str();
  }
  out << "<table id=\"comparison\"><tr><th>variant</th><th>O(1) &epsilon;<sub>lb</sub></th>"
         "<th>f-DP &mu;<sub>lb</sub></th><th>f-DP &epsilon;<sub>lb</sub></th><th>real "
         "{&epsilon;+c}<sub>lb</sub></th><th>generated c<sub>lb</sub></th><th>generated "
         "{&epsilon;+c}<sub>lb</sub></th><th>generated &epsilon;&#771;</th></tr>\n";
  bool optimistic = false;
  for (const auto& v : variants) {
    const std::string column = "mia_" + v + "_pred";
    const double* flag = value("o1/" + v, "optimistic");
    optimistic |= flag && *flag > 0;
    out << "<tr><td>" << html_escape(v) << "</td>"
        << cell(value("o1/" + v, "eps_lb"), flag && *flag > 0 ? "*" : "")
        << cell(value("fdp/" + v, "mu_lb")) << cell(value("fdp/" + v, "eps_lb"))
        << cell(value("real/" + column, "eps_c_lb")) << cell(value("audit", "c_lb"))
        << cell(value(column, "eps_c_lb")) << cell(value(column, "eps_tilde")) << "</tr>\n";
  }
  out << "</table>\n<p class=\"note\">The real-non-member game has c = 0, so its "
         "{&epsilon;+c}<sub>lb</sub> is a lower bound on &epsilon;, as is O(1) "
         "&epsilon;<sub>lb</sub> for any target; f-DP &epsilon;<sub>lb</sub> bounds &epsilon; only "
         "for targets whose privacy curve is Gaussian (DP-SGD), its &mu;<sub>lb</sub> for any."
      << (optimistic ? " * selection = reference: optimistic, not corrected for choosing the "
                       "thresholds."
                     : "")
      << "</p>\n";
  return out.str();
}

// Every attack of the run side by side ([attack] and [attacks] list), with the ROC of each
// attack's MIA on every model variant overlaid; nothing for one attack.
std::string attacks_section(const RunData& d, PlotWriter& plots) {
  const std::string primary = primary_attack(d.run);
  const auto rows = attack_rows(d.metric_records, primary);
  if (rows.empty()) return "";
  const auto interval = [](const std::optional<stats::Spread>& s) {
    return s ? "<td>[" + fmt(s->ci_low) + ", " + fmt(s->ci_high) + "]</td>"
             : std::string("<td>&ndash;</td>");
  };
  const bool spreads = rows.front().bound_spread.has_value();
  std::ostringstream out;
  out << "<h2>Attacks side by side</h2>\n<p>Every attack on the same generator, target and "
         "reference models; the baseline of each uses helper 1 as its side model, each MIA the "
         "target, and both the same reference models.</p>\n<table id=\"attacks\"><tr><th>attack"
         "</th><th>side</th><th>bound</th><th>&epsilon;&#771;</th><th>AUC</th><th>TPR at 1% "
         "FPR</th><th>TPR at 0.1% FPR</th><th>real {&epsilon;+c}<sub>lb</sub></th><th>seconds"
         "</th>"
      << (spreads ? "<th>bound 95% interval</th><th>&epsilon;&#771; 95% interval</th>" : "")
      << "</tr>\n";
  for (const auto& r : rows) {
    out << "<tr><td>" << html_escape(r.attack) << "</td><td>" << html_escape(r.column) << "</td>"
        << "<td>" << fmt(r.bound) << (r.signal ? "" : "*") << "</td>"
        << (r.baseline ? std::string("<td>&ndash;</td>") : td(r.eps_tilde)) << td(r.auc)
        << td(r.tpr_1) << td(r.tpr_01)
        << (r.real_bound ? td(*r.real_bound) : std::string("<td>&ndash;</td>")) << td(r.seconds);
    if (spreads) out << interval(r.bound_spread) << interval(r.eps_tilde_spread);
    out << "</tr>\n";
  }
  out << "</table>\n<p class=\"note\">bound: c<sub>lb</sub> for a baseline, "
         "{&epsilon;+c}<sub>lb</sub> for an MIA; * not above the null's 95th percentile (no "
         "membership signal).</p>\n";
  std::vector<std::string> columns;
  for (const auto& r : rows)
    if (!r.baseline && std::find(columns.begin(), columns.end(), r.column) == columns.end())
      columns.push_back(r.column);
  for (const auto& column : columns) {
    Plot p = roc_axes("ROC of every attack: " + column);
    for (const auto& r : rows) {
      if (r.column != column) continue;
      const std::string key = r.attack == primary ? column : "attacks/" + r.attack + "/" + column;
      const auto curves = d.curves.find(key);
      if (curves == d.curves.end() || !curves->second.count("roc")) continue;
      const auto& roc = curves->second.at("roc");
      p.series.push_back({r.attack, json_vector(roc, "fpr"), json_vector(roc, "tpr"), "lines"});
    }
    if (p.series.size() < 2) continue;  // runs stored before the listed attacks' curves were
    p.series.push_back({"chance", {1e-4, 1.0}, {1e-4, 1.0}, "dashed"});
    out << plots.figure("attacks-roc-" + std::to_string(d.run.id) + "-" + column, p,
                        "ROC of each attack's " + html_escape(column) + ", overlaid (log-log).");
  }
  return out.str();
}

// A reader's preview as HTML: every stored string escaped, the PNG inlined as a data URI.
std::string preview_html(const Preview& preview, const std::string& role) {
  if (!preview.png.empty())
    return "<p>" + html_escape(role) + ":</p><img class=\"grid\" alt=\"" + html_escape(role) +
           " samples\" src=\"data:image/png;base64," + base64(preview.png) + "\">\n";
  std::ostringstream out;
  if (!preview.columns.empty() || !preview.rows.empty()) {
    out << "<table class=\"samples\"><caption>" << html_escape(role) << " samples</caption><tr>";
    for (const auto& column : preview.columns) out << "<th>" << html_escape(column) << "</th>";
    out << "</tr>\n";
    for (const auto& row : preview.rows) {
      out << "<tr>";
      for (const auto& cell : row) out << "<td>" << html_escape(cell) << "</td>";
      out << "</tr>\n";
    }
    out << "</table>\n";
  } else if (!preview.texts.empty()) {
    out << "<p>" << html_escape(role) << ":</p><ol class=\"texts\">";
    for (const auto& text : preview.texts) out << "<li>" << html_escape(text) << "</li>";
    out << "</ol>\n";
  }
  return out.str();
}

// The data reader's previews of real and generated samples and its closeness measures.
std::string samples_section(const RunData& d) {
  std::ostringstream out;
  if (d.previews.empty())
    out << "<p class=\"note\" id=\"no-preview\">The run recorded no sample previews (its data "
           "reader draws none, or the run was recorded before previews were stored).</p>\n";
  for (const auto& record : d.previews)
    out << preview_html(record.preview, record.role == "real"        ? "Real"
                                        : record.role == "generated" ? "Generated"
                                                                     : record.role);
  const auto generator = d.metrics.find("generator");
  if (generator != d.metrics.end()) {
    out << "<p>Closeness of generated to held-out real samples, by the reader's measures (0: the "
           "same distribution):</p>\n<table id=\"closeness\"><tr><th>feature</th><th>measure</th>"
           "<th>distance</th></tr>\n";
    for (const auto& [name, value] : generator->second) {
      const auto colon = name.find(':');
      const std::string measure = colon == std::string::npos ? "" : name.substr(0, colon);
      const std::string feature = colon == std::string::npos ? name : name.substr(colon + 1);
      out << "<tr><td>" << html_escape(feature) << "</td><td>" << html_escape(measure) << "</td>"
          << td(value) << "</tr>\n";
    }
    out << "</table>\n";
  }
  return out.str();
}

// A CSS class name from a stored status: letters only (the database is untrusted).
std::string status_class(const std::string& status) {
  std::string out;
  for (const char c : status)
    if (c >= 'a' && c <= 'z') out += c;
  return out;
}

std::vector<std::filesystem::path> write_report(const ResultsDb& db, std::int64_t id,
                                                const std::filesystem::path& html) {
  RunData d = load_run(db, id);
  d.stages = db.stages(id);
  d.scores = db.scores(id);
  d.previews = db.previews(id);
  if (d.rows.empty())
    throw UserError("run " + std::to_string(id) + " has no measurements (status " + d.run.status +
                    ")");
  // The page is opened first: a location that cannot be written fails before any plot folder is
  // made.
  std::ofstream out(html);
  if (!out) throw UserError("cannot write report " + html.string());
  PlotWriter plots(html.parent_path() / (html.stem().string() + "-plots"));
  std::ostringstream body;
  body << "<h1>PANORAMIA audit: run " << d.run.id << " (" << html_escape(d.run.name) << ")</h1>\n";
  body << "<p>Status <span class=\"status-" << status_class(d.run.status) << "\">"
       << html_escape(d.run.status) << "</span>; started " << html_escape(d.run.started_at)
       << ", ended " << html_escape(d.run.ended_at) << "; config " << html_escape(d.run.config_file)
       << ", seed " << d.run.seed << ".</p>\n";
  const std::string mode = config_value(d.run.config, "audit", "threshold_mode");
  const std::string search = config_value(d.run.config, "audit", "bound_search");
  body << "<h2>Summary</h2>\n<p id=\"audit\">m = " << static_cast<long long>(d.audit.at("m"))
       << " test slots (" << static_cast<long long>(d.audit.at("members"))
       << " members); joint confidence " << d.audit.at("confidence") << "; threshold mode "
       << html_escape(mode) << "; bound search " << html_escape(search) << ".</p>\n";
  body << summary_table(d, {}, false);
  body << "<p>c<sub>lb</sub> = <span id=\"c_lb\">" << fmt(d.audit.at("c_lb")) << "</span>";
  for (const auto& r : d.rows)
    if (!r.baseline)
      body << "; " << html_escape(r.column) << ": {&epsilon;+c}<sub>lb</sub> = " << fmt(r.bound)
           << ", &epsilon;&#771; = " << fmt(r.eps_tilde);
  body << ".</p>\n<p class=\"note\">&epsilon;&#771; = {&epsilon;+c}<sub>lb</sub> &minus; "
          "c<sub>lb</sub> is a measurement of leakage, not a proven lower bound on &epsilon;: "
          "c<sub>lb</sub> only bounds the generator's closeness c from below.</p>\n";
  body << repetitions_section(d.metric_records);
  body << attacks_section(d, plots);
  body << comparison_section(d);

  body << "<h2>Plots</h2>\n";
  if (!plots.available())
    body << "<p class=\"note\" id=\"no-gnuplot\">gnuplot is not installed, so this report has no "
            "plots (install Debian's gnuplot-nox); the tables above are complete.</p>\n";
  body << plots.figure("bound-recall", bound_plot({&d}, {}, false),
                       "Lower bound at each threshold against recall; dashed: each maximum.");
  Plot pr{"Precision vs recall", "recall", "precision", false, false, "[0:1]", "[0:1.02]", {}};
  for (const auto& r : d.rows) {
    const auto& c = d.curves.at(r.column).at("precision_recall");
    pr.series.push_back({r.column, json_vector(c, "recall"), json_vector(c, "precision"), "lines"});
    pr.series.push_back({"max precision at " + fmt(r.bound), json_vector(c, "recall"),
                         json_vector(c, "max_precision"), "dashed"});
  }
  body << plots.figure("precision-recall", pr,
                       "Precision against recall; dashed: the theoretical maximum precision at "
                       "each measured bound (97.5% binomial quantile).");
  body << plots.figure("roc", roc_plot({&d}, {}, false), "ROC curves on log-log axes.");
  for (const auto& column : d.scores) {
    Plot h{"Scores: " + column.attack,
           "score",
           "fraction of samples",
           false,
           false,
           "[0:1]",
           "[0:*]",
           {}};
    std::vector<double> centers, members(kHistogramBins, 0), others(kHistogramBins, 0);
    double n_members = 0, n_others = 0;
    for (std::size_t i = 0; i < column.score.size(); ++i) {
      // Stored scores are untrusted: clamp before the cast (a cast of an out-of-range double is
      // undefined) and skip NaN.
      if (std::isnan(column.score[i])) continue;
      const double at = std::clamp(column.score[i] * kHistogramBins, 0.0, kHistogramBins - 1.0);
      const int bin = static_cast<int>(at);
      (column.member[i] ? members : others)[bin] += 1;
      (column.member[i] ? n_members : n_others) += 1;
    }
    for (int b = 0; b < kHistogramBins; ++b) {
      centers.push_back(double(b) / kHistogramBins);
      members[b] /= std::max(1.0, n_members);
      others[b] /= std::max(1.0, n_others);
    }
    h.series.push_back({"members", centers, members, "steps"});
    h.series.push_back({"generated", centers, others, "steps"});
    body << plots.figure(
        "hist-" + column.attack, h,
        "Score histogram of members and generated samples: " + column.attack + ".");
  }

  body << "<h2>Generated beside real data</h2>\n" << samples_section(d);
  body << "<h2>Stages</h2>\n<table id=\"stages\"><tr><th>stage</th><th>seconds</th><th>cache</th>"
          "<th>key</th></tr>\n";
  for (const auto& s : d.stages)
    body << "<tr><td>" << html_escape(s.stage) << "</td><td>" << fmt(s.seconds) << "</td><td>"
         << (s.reused ? "reused" : "computed") << "</td><td>" << html_escape(s.cache_key)
         << "</td></tr>\n";
  body << "</table>\n<h2>Plugins</h2>\n<table id=\"plugins\"><tr><th>stage</th><th>plugin</th>"
          "<th>version</th></tr>\n";
  const auto plugins =
      d.run.plugins.empty() ? nlohmann::json::object() : nlohmann::json::parse(d.run.plugins);
  for (const auto& [stage, p] : plugins.items())
    body << "<tr><td>" << html_escape(stage) << "</td><td>" << html_escape(p.value("plugin", ""))
         << "</td><td>" << html_escape(p.value("version", "")) << "</td></tr>\n";
  body << "</table>\n<h2>Resolved configuration</h2>\n<pre id=\"config\">"
       << html_escape(d.run.config) << "</pre>\n";

  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>panoramia run "
      << id << "</title><style>" << kStyle << "</style></head><body>\n"
      << body.str() << "</body></html>\n";
  if (!out) throw UserError("cannot write report " + html.string());
  return plots.pngs();
}

namespace {

std::string compare_repetitions(const ResultsDb& db, const std::vector<std::int64_t>& runs) {
  // eps_tilde of every MIA column, per run, with its interval; then each pair of runs.
  std::map<std::string, std::vector<std::pair<std::int64_t, stats::Spread>>> by_column;
  for (const auto id : runs)
    for (const auto& m : repeated_metrics(db.metrics(id)))
      if (m.name == "eps_tilde" && m.attack.find('/') == std::string::npos)
        by_column[m.attack].emplace_back(id, m.spread);
  if (by_column.empty()) return "";
  std::ostringstream out;
  out << "\neps_tilde over repetitions (mean and 95% t interval):\n";
  char line[256];
  for (const auto& [column, entries] : by_column) {
    for (const auto& [id, s] : entries) {
      std::snprintf(line, sizeof line, "  run %-4lld %-22s %8.4f  [%8.4f, %8.4f]  n = %zu\n",
                    static_cast<long long>(id), column.c_str(), s.mean, s.ci_low, s.ci_high, s.n);
      out << line;
    }
    for (std::size_t a = 0; a < entries.size(); ++a) {
      for (std::size_t b = a + 1; b < entries.size(); ++b) {
        std::snprintf(line, sizeof line, "  %s: runs %lld and %lld %s\n", column.c_str(),
                      static_cast<long long>(entries[a].first),
                      static_cast<long long>(entries[b].first),
                      stats::intervals_disjoint(entries[a].second, entries[b].second)
                          ? "differ beyond their intervals"
                          : "do not differ beyond their intervals (they overlap)");
        out << line;
      }
    }
  }
  return out.str();
}

}  // namespace

std::string compare_table(const ResultsDb& db, const std::vector<std::int64_t>& runs,
                          const std::vector<std::string>& attacks) {
  std::ostringstream out;
  out << "  run " << measurement_header();
  std::string attack_tables;
  for (const auto id : runs) {
    const RunData d = load_run(db, id);
    for (const auto& r : d.rows) {
      if (!wanted(r.column, attacks)) continue;
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "  %-4lld", static_cast<long long>(id));
      out << prefix << format_measurement_row(r);
    }
    const std::string table =
        format_attack_table(attack_rows(d.metric_records, primary_attack(d.run)));
    if (!table.empty()) attack_tables += "\nrun " + std::to_string(id) + ":" + table;
  }
  out << attack_tables;
  out << compare_repetitions(db, runs);
  return out.str();
}

std::vector<std::filesystem::path> write_compare(const ResultsDb& db,
                                                 const std::vector<std::int64_t>& runs,
                                                 const std::vector<std::string>& attacks,
                                                 const std::filesystem::path& html) {
  std::vector<RunData> data;
  for (const auto id : runs) data.push_back(load_run(db, id));
  std::vector<const RunData*> ptrs;
  for (const auto& d : data) ptrs.push_back(&d);
  PlotWriter plots(html.parent_path() / (html.stem().string() + "-plots"));
  std::ostringstream body;
  body << "<h1>PANORAMIA: comparison of runs";
  for (const auto id : runs) body << " " << id;
  body << "</h1>\n";
  for (const auto& d : data)
    body << "<h2>Run " << d.run.id << " (" << html_escape(d.run.name) << ")</h2>\n"
         << summary_table(d, attacks, true) << attacks_section(d, plots);
  if (!plots.available())
    body << "<p class=\"note\" id=\"no-gnuplot\">gnuplot is not installed: no plots.</p>\n";
  body << plots.figure("bound-recall", bound_plot(ptrs, attacks, true),
                       "Lower bound vs recall, overlaid.");
  body << plots.figure("roc", roc_plot(ptrs, attacks, true), "ROC curves, overlaid.");
  std::ofstream out(html);
  if (!out) throw UserError("cannot write " + html.string());
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>panoramia "
         "comparison</title><style>"
      << kStyle << "</style></head><body>\n"
      << body.str() << "</body></html>\n";
  return plots.pngs();
}

}  // namespace panoramia::report
