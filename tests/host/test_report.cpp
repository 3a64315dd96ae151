// `panoramia report` and `compare`: the HTML page's numbers match the database, it opens offline in
// headless Chromium with every plot and no console errors, and compare's rows match `show`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <regex>

#include <SQLiteCpp/SQLiteCpp.h>

#include "results_db.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_panoramia;

class ReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_file(*dir_ / "toy.ini", testing::toy_config(30));
    ASSERT_EQ(run_panoramia("audit toy.ini --log-level off", dir_->path()).exit_code, 0);
    ASSERT_EQ(
        run_panoramia("audit toy.ini --set audit.seed=8 --log-level off", dir_->path()).exit_code,
        0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::TempDir* dir_;
};
testing::TempDir* ReportTest::dir_ = nullptr;

TEST_F(ReportTest, TableNumbersMatchTheDatabase) {
  const auto r = run_panoramia("report 1 --out r.html", dir_->path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string html = testing::read_file(*dir_ / "r.html");
  ResultsDb db(*dir_ / "panoramia-work" / "results.db");
  int checked = 0;
  for (const auto& m : db.metrics(1)) {
    if (m.name != "c_lb" && m.name != "eps_c_lb" && m.name != "auc") continue;
    if (m.attack == "audit") continue;
    // The row of this column: bound is the first value cell, AUC the sixth.
    const std::regex row("<tr data-column=\"" + m.attack + "\">(.*?)</tr>");
    std::smatch match;
    ASSERT_TRUE(std::regex_search(html, match, row)) << m.attack;
    std::vector<double> values;
    const std::string cells = match[1];
    const std::regex value("data-value=\"([^\"]+)\"");
    for (auto it = std::sregex_iterator(cells.begin(), cells.end(), value);
         it != std::sregex_iterator(); ++it)
      values.push_back(std::stod((*it)[1]));
    const bool baseline = m.attack == "baseline_pred";
    // baseline rows have no eps-tilde cell: bound, threshold, recall, precision, AUC, ...
    const std::size_t auc_index = baseline ? 4 : 5;
    ASSERT_GT(values.size(), auc_index);
    // data-value is std::to_string(v): 6 decimals, so ≤ 5e-7 from the stored float64 (plus its
    // parse, ~1e-16); 1e-6 is that rounding, while another row's or column's value is ≥ 1e-3 off.
    EXPECT_NEAR(m.name == "auc" ? values[auc_index] : values[0], m.value, 1e-6)
        << m.attack << " " << m.name;
    ++checked;
  }
  EXPECT_EQ(checked, 6);  // bound and AUC of baseline and two MIAs
  char c_lb[64];
  for (const auto& m : db.metrics(1))
    if (m.attack == "audit" && m.name == "c_lb")
      std::snprintf(c_lb, sizeof c_lb, "<span id=\"c_lb\">%.4f</span>", m.value);
  EXPECT_THAT(html, HasSubstr(c_lb));
  EXPECT_THAT(html, HasSubstr("not a proven lower bound"));
  EXPECT_THAT(html, HasSubstr("<pre id=\"config\">[audit]"));
  // The gaussian reader's previews (a table of coordinates and labels), stored with the run.
  EXPECT_THAT(html, HasSubstr("<table class=\"samples\"><caption>Real samples</caption><tr>"
                              "<th>x0</th>"));
  EXPECT_THAT(html, HasSubstr("<table class=\"samples\"><caption>Generated samples</caption><tr>"
                              "<th>x0</th>"));
  EXPECT_EQ(db.previews(1).size(), 2u);
  for (const std::string png : {"bound-recall", "precision-recall", "roc", "hist-baseline_pred"})
    EXPECT_TRUE(std::filesystem::exists(*dir_ / "r-plots" / (png + ".png"))) << png;
  // Self-contained: no resource is fetched (namespace URIs such as xmlns="http://..." are names).
  for (const std::string fetch :
       {"src=\"http", "href=\"http", "url(http", "@import", "<script src"})
    EXPECT_EQ(html.find(fetch), std::string::npos) << fetch;
}

TEST_F(ReportTest, OpensInHeadlessChromiumWithEveryPlotAndNoConsoleErrors) {
  ASSERT_EQ(run_panoramia("report 1 --out page.html", dir_->path()).exit_code, 0);
  ASSERT_EQ(std::system("command -v chromium >/dev/null"), 0)
      << "chromium is required for this test (scripts/install-deps installs it)";
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--enable-logging=stderr --v=0 --window-size=1200,4000 --user-data-dir='" +
      (*dir_ / "chrome-profile").string() + "'";
  const std::string url = "file://" + (*dir_ / "page.html").string();
  const std::string dom_cmd = "cd '" + dir_->path().string() + "' && timeout 120 chromium " +
                              flags + " --dump-dom '" + url + "' > dom.html 2> console.log";
  ASSERT_EQ(std::system(dom_cmd.c_str()), 0) << testing::read_file(*dir_ / "console.log");
  const std::string dom = testing::read_file(*dir_ / "dom.html");
  const std::string console = testing::read_file(*dir_ / "console.log");
  EXPECT_THAT(dom, HasSubstr("PANORAMIA audit: run 1"));
  // Every figure carries its SVG: 3 curve plots and one histogram per score column.
  int figures = 0;
  const std::regex figure("<figure id=\"([^\"]+)\" class=\"plot\"><svg");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), figure); it != std::sregex_iterator();
       ++it)
    ++figures;
  EXPECT_EQ(figures, 6);
  EXPECT_EQ(console.find("CONSOLE"), std::string::npos) << console;
  EXPECT_EQ(console.find("Failed to load"), std::string::npos) << console;
  const std::string shot_cmd = "cd '" + dir_->path().string() + "' && timeout 120 chromium " +
                               flags + " --screenshot=shot.png '" + url + "' 2>/dev/null";
  ASSERT_EQ(std::system(shot_cmd.c_str()), 0);
  ASSERT_TRUE(std::filesystem::exists(*dir_ / "shot.png"));
  EXPECT_GT(std::filesystem::file_size(*dir_ / "shot.png"), 20000u);  // not a blank page
}

TEST_F(ReportTest, CompareRowsMatchShow) {
  const auto compare = run_panoramia("compare 1 2", dir_->path());
  ASSERT_EQ(compare.exit_code, 0) << compare.output;
  const auto show1 = run_panoramia("show 1", dir_->path()).output;
  const auto show2 = run_panoramia("show 2", dir_->path()).output;
  std::istringstream lines(compare.output);
  std::string line;
  int rows = 0;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    const std::string run = line.substr(2, 4);
    const std::string rest = line.substr(6);
    const auto& show = std::stoi(run) == 1 ? show1 : show2;
    EXPECT_THAT(show, HasSubstr("\n" + rest + "\n")) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 6);
  const auto filtered = run_panoramia("compare 1 2 --attack baseline --out cmp.html", dir_->path());
  ASSERT_EQ(filtered.exit_code, 0) << filtered.output;
  EXPECT_EQ(std::count(filtered.output.begin(), filtered.output.end(), '\n'),
            4);  // header, 2 rows, page
  EXPECT_THAT(testing::read_file(*dir_ / "cmp.html"), HasSubstr("<figure id=\"bound-recall\""));
}

TEST_F(ReportTest, ExportJsonHasAllMetricsAndCurves) {
  const auto r = run_panoramia("export 2 --json", dir_->path());
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("\"bound_vs_recall\""));
  EXPECT_THAT(r.output, HasSubstr("\"eps_tilde\""));
  EXPECT_EQ(run_panoramia("report 9", dir_->path()).exit_code, 2);
}

}  // namespace
}  // namespace panoramia

namespace panoramia {
namespace {

// Issue 15's hostile sweep: a report of a run with real non-members prints only text and draws
// every plot; a database whose column names carry gnuplot commands and whose scores lie outside
// [0, 1] is drawn without running anything and without writing out of bounds.
TEST(ReportHostile, RealNonMemberColumnsAndCraftedNamesAndScores) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini",
                      testing::toy_config(10,
                                          "\n[split]\ntarget_fraction = 0.5\n\n[game]\n"
                                          "nonmembers = both\n\n[o1]\ncanaries = 60\n"));
  ASSERT_EQ(run_panoramia("audit toy.ini --log-level off", dir.path()).exit_code, 0);
  const auto r = run_panoramia("report 1 --out r.html", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("PNG"), r.output.rfind("PNG"));  // the one summary line mentions PNG
  for (const char c : r.output)
    EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << "binary output from report";
  const std::string html = testing::read_file(dir / "r.html");
  EXPECT_THAT(html, Not(HasSubstr("gnuplot failed")));
  EXPECT_THAT(html, HasSubstr("id=\"hist-real_baseline_pred\""));
  // The comparison table: O(1), f-DP and the real-non-member game beside the generated game,
  // with the stored values (issue 15, item 4).
  {
    ResultsDb db(dir / "panoramia-work" / "results.db", DbAccess::kReadOnly);
    std::map<std::string, double> m;
    for (const auto& metric : db.metrics(1)) m[metric.attack + "." + metric.name] = metric.value;
    char row[512];
    std::snprintf(row, sizeof row,
                  "<tr><td>final</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>"
                  "<td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>",
                  m.at("o1/final.eps_lb"), m.at("fdp/final.mu_lb"), m.at("fdp/final.eps_lb"),
                  m.at("real/mia_final_pred.eps_c_lb"), m.at("audit.c_lb"),
                  m.at("mia_final_pred.eps_c_lb"), m.at("mia_final_pred.eps_tilde"));
    EXPECT_THAT(html, HasSubstr("<table id=\"comparison\">"));
    EXPECT_THAT(html, HasSubstr(row));
  }

  {
    SQLite::Database db((dir / "panoramia-work" / "results.db").string(), SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE scores SET attack = 'mia_x' || char(10) || 'system(\"touch pwned\")' || "
        "char(96) || 'touch pwned2' || char(96) WHERE attack = 'mia_final_pred'");
    db.exec("UPDATE scores SET score = -1e12 WHERE idx = 0");
    db.exec("UPDATE scores SET score = 1e12 WHERE idx = 1");
    db.exec(
        "UPDATE runs SET started_at = '<script>alert(1)</script>', "
        "ended_at = '<img src=x onerror=alert(2)>'");
    db.exec("UPDATE stages SET stage = '<b>data</b>' WHERE rowid = 1");
  }
  const auto crafted = run_panoramia("report 1 --out crafted.html", dir.path());
  ASSERT_EQ(crafted.exit_code, 0) << crafted.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
  EXPECT_FALSE(std::filesystem::exists(dir / "pwned2"));
  // An --out that cannot be written fails before any plot folder is made (finding 10).
  const auto unwritable = run_panoramia("report 1 --out missing/r.html", dir.path());
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_THAT(unwritable.output, HasSubstr("cannot write report"));
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
  const std::string crafted_html = testing::read_file(dir / "crafted.html");
  EXPECT_THAT(crafted_html, Not(HasSubstr("gnuplot failed")));
  // Every stored string is escaped in the page (issue 15, finding 1).
  EXPECT_THAT(crafted_html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(crafted_html, Not(HasSubstr("<img src=x")));
  EXPECT_THAT(crafted_html, Not(HasSubstr("<b>data</b>")));
  EXPECT_THAT(crafted_html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

}  // namespace
}  // namespace panoramia
