// End to end: write a reference-format CSV, read it, summarise, render as text and JSON.
#include "stats/summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "stats/binomial.hpp"
#include "stats/report.hpp"
#include "temp_file.hpp"

namespace panoramia::stats {
namespace {

using testing::TempFile;

// 4000 rows: a baseline with a weak signal, a strong MIA, and an MIA with no signal at all.
std::string reference_csv() {
  std::mt19937_64 rng(2024);
  std::bernoulli_distribution coin(0.5);
  std::normal_distribution<double> noise(0.0, 0.15);
  const auto score = [&](double mean) { return std::clamp(mean + noise(rng), 0.0, 1.0); };
  std::string text = ",member,baseline_pred,mia_strong_pred,mia_weak_pred\n";
  char line[160];
  for (int i = 0; i < 4000; ++i) {
    const int member = coin(rng) ? 1 : 0;
    const double baseline = score(0.45 + 0.10 * member);
    const double strong = score(0.40 + 0.25 * member);
    const double weak = score(0.5);
    std::snprintf(line, sizeof line, "%d,%d,%.17g,%.17g,%.17g\n", i, member, baseline, strong,
                  weak);
    text += line;
  }
  return text;
}

class SummaryTest : public ::testing::Test {
 protected:
  SummaryTest() : file_(reference_csv()), table_(read_score_csv(file_.path())) {}
  TempFile file_;
  ScoreTable table_;
};

TEST_F(SummaryTest, BoundsAndSigns) {
  const AuditSummary summary = summarize(table_, {});
  EXPECT_EQ(summary.m, 4000);
  EXPECT_EQ(summary.members, std::count(table_.member.begin(), table_.member.end(), 1));
  ASSERT_EQ(summary.columns.size(), 3u);
  EXPECT_TRUE(summary.columns[0].baseline);

  const double c_lb = measure(table_.column("baseline_pred"), table_.member, {}).bound;
  const double strong = measure(table_.column("mia_strong_pred"), table_.member, {}).bound;
  const double weak = measure(table_.column("mia_weak_pred"), table_.member, {}).bound;
  EXPECT_EQ(summary.c_lb, c_lb);
  EXPECT_GT(c_lb, 0.0);
  EXPECT_GT(strong, c_lb);
  EXPECT_LT(weak, c_lb);

  ASSERT_EQ(summary.mias.size(), 2u);
  EXPECT_EQ(summary.mias[0].column, "mia_strong_pred");
  EXPECT_EQ(summary.mias[0].model, "strong");
  EXPECT_EQ(summary.mias[0].eps_c_lb, strong);
  // ε̃ = {ε+c}_lb − c_lb: positive for the MIA that beats the baseline (the reference prints it
  // negated).
  EXPECT_EQ(summary.mias[0].eps_tilde, strong - c_lb);
  EXPECT_GT(summary.mias[0].eps_tilde, 0.0);
  EXPECT_EQ(summary.mias[1].model, "weak");
  EXPECT_LT(summary.mias[1].eps_tilde, 0.0);
}

TEST_F(SummaryTest, MetricsAndCurves) {
  const AuditSummary summary = summarize(table_, {});
  const ColumnSummary& baseline = summary.columns[0];
  const ColumnSummary& strong = summary.columns[1];
  EXPECT_GT(strong.auc, baseline.auc);
  EXPECT_GT(baseline.auc, 0.6);
  // Statistical, for a fixed seed: a score unrelated to membership has AUC 0.5 with sd
  // ≈ √((n1 + n0 + 1)/(12·n1·n0)) ≈ 0.009 for 2000 + 2000 rows, so 0.05 is 5.5 sd (rounding is
  // ~1e-16 of it).
  EXPECT_NEAR(summary.columns[2].auc, 0.5, 0.05);
  ASSERT_EQ(strong.tpr_at_fpr.size(), 3u);
  EXPECT_EQ(strong.tpr_at_fpr[0].fpr, 0.1);
  EXPECT_GE(strong.tpr_at_fpr[0].tpr, strong.tpr_at_fpr[1].tpr);
  EXPECT_GE(strong.tpr_at_fpr[1].tpr, strong.tpr_at_fpr[2].tpr);
  EXPECT_EQ(strong.measurement.curve.size(), 100u);
  EXPECT_LE(strong.roc.size(), 1000u);
  EXPECT_EQ(strong.roc.back().tpr, 1.0);

  ASSERT_FALSE(strong.precision_curve.empty());
  EXPECT_LE(strong.precision_curve.size(), 1000u);
  for (const PrecisionPoint& p : strong.precision_curve) {
    EXPECT_GT(p.r, 0);
    EXPECT_EQ(p.max_precision, max_precision(p.r, strong.measurement.bound));
  }
}

TEST_F(SummaryTest, AllModeKeepsTheSameSigns) {
  SweepOptions options;
  options.mode = ThresholdMode::kAll;
  options.search = BoundSearch::kExact;
  const AuditSummary summary = summarize(table_, options);
  const std::vector<double>& baseline = table_.column("baseline_pred");
  const std::set<double> distinct(baseline.begin(),
                                  baseline.end());  // clamping makes ties at 0 and 1
  EXPECT_EQ(summary.columns[0].measurement.thresholds, static_cast<std::int64_t>(distinct.size()));
  EXPECT_GT(summary.c_lb, 0.0);
  EXPECT_EQ(summary.mias[0].eps_tilde, summary.mias[0].eps_c_lb - summary.c_lb);
  EXPECT_GT(summary.mias[0].eps_tilde, 0.0);
}

TEST_F(SummaryTest, TextReport) {
  const AuditSummary summary = summarize(table_, {});
  const std::string text = format_summary_text(summary);
  EXPECT_NE(text.find("baseline_pred"), std::string::npos) << text;
  EXPECT_NE(text.find("mia_strong_pred"), std::string::npos) << text;
  EXPECT_NE(text.find("TPR@0.1%"), std::string::npos) << text;
  char c_lb[64];
  std::snprintf(c_lb, sizeof c_lb, "c_lb = %.6f", summary.c_lb);
  EXPECT_NE(text.find(c_lb), std::string::npos) << text;
  char tilde[64];
  std::snprintf(tilde, sizeof tilde, "eps_tilde = {eps+c}_lb - c_lb = %.6f",
                summary.mias[0].eps_tilde);
  EXPECT_NE(text.find(tilde), std::string::npos) << text;
  EXPECT_NE(text.find("not a proven lower bound"), std::string::npos) << text;
}

TEST_F(SummaryTest, JsonReport) {
  const AuditSummary summary = summarize(table_, {});
  const nlohmann::json json = summary_to_json(summary);
  EXPECT_EQ(json.at("m"), 4000);
  EXPECT_EQ(json.at("c_lb").get<double>(), summary.c_lb);
  EXPECT_EQ(json.at("options").at("mode"), "reference");
  EXPECT_EQ(json.at("mias").at(0).at("eps_tilde").get<double>(), summary.mias[0].eps_tilde);
  const nlohmann::json& column = json.at("columns").at(1);
  EXPECT_EQ(column.at("name"), "mia_strong_pred");
  EXPECT_EQ(column.at("role"), "mia");
  EXPECT_EQ(column.at("sweep").size(), 100u);
  EXPECT_EQ(column.at("tpr_at_fpr").size(), 3u);
  EXPECT_TRUE(column.at("roc").at(0).at("threshold").is_null());  // +inf: predict nothing
  EXPECT_FALSE(column.at("precision_curve").empty());
  // Round trip through text, as a consumer would read it.
  EXPECT_EQ(nlohmann::json::parse(json.dump()), json);
}

TEST(Summary, RequiresABaselineColumn) {
  ScoreTable table;
  table.source = "x.csv";
  table.member = {1, 0};
  table.names = {"mia_a_pred"};
  table.scores = {{0.5, 0.5}};
  EXPECT_THROW(summarize(table, {}), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::stats
