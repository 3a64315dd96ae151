// Repetitions of an audit: the aggregation arithmetic, and a repeated toy audit through the CLI
// (show, export --json, report, compare, resume).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "repetitions.hpp"
#include "results_db.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using testing::run_panoramia;

const MetricRecord* find(const std::vector<MetricRecord>& rows, const std::string& attack,
                         const std::string& name) {
  for (const auto& m : rows)
    if (m.attack == attack && m.name == name) return &m;
  return nullptr;
}

TEST(RepetitionMetrics, AggregatesTheQuotedMeasurementsByHand) {
  std::vector<Repetition> reps;
  const double tilde[] = {0.59, 0.11, -0.56};
  for (int i = 0; i < 3; ++i) {
    reps.push_back({"t1g" + std::to_string(i + 1),
                    {{"mia_final_pred", "eps_tilde", tilde[i], {}, {}},
                     {"mia_final_pred", "threshold", 0.5, {}, {}},  // not a quoted measurement
                     {"o1/final", "eps_lb", 0.3, {}, {}},           // the same in every game
                     {"audit", "m", 100, {}, {}}}});
  }
  const auto rows = repetition_metrics(reps, 1, 3);
  ASSERT_NE(find(rows, "audit", "repetitions"), nullptr);
  EXPECT_EQ(find(rows, "audit", "repetitions")->value, 3);
  EXPECT_EQ(find(rows, "rep/t1g2/mia_final_pred", "eps_tilde")->value, 0.11);
  EXPECT_EQ(find(rows, "rep/t1g1/mia_final_pred", "threshold"), nullptr);
  EXPECT_EQ(find(rows, "rep/t1g1/audit", "m"), nullptr);
  // The hand computation of tests/stats/test_spread.cpp: mean 0.046667, sd 0.577610, half width
  // 1.434863 (six digits by hand, so 1e-5).
  const MetricRecord* mean = find(rows, "repeat/mia_final_pred", "eps_tilde");
  ASSERT_NE(mean, nullptr);
  EXPECT_NEAR(mean->value, 0.046667, 1e-5);
  ASSERT_TRUE(mean->ci_low && mean->ci_high);
  EXPECT_NEAR(*mean->ci_low, 0.046667 - 1.434863, 1e-5);
  EXPECT_NEAR(*mean->ci_high, 0.046667 + 1.434863, 1e-5);
  EXPECT_NEAR(find(rows, "repeat/mia_final_pred", "eps_tilde_sd")->value, 0.577610, 1e-5);
  // O(1) does not depend on the game: one training gives one independent value, no interval.
  const MetricRecord* o1 = find(rows, "repeat/o1/final", "eps_lb");
  ASSERT_NE(o1, nullptr);
  EXPECT_EQ(*o1->ci_low, o1->value);
  EXPECT_EQ(*o1->ci_high, o1->value);
  // Read back as `show` does.
  const auto back = repeated_metrics(rows);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].attack, "mia_final_pred");
  EXPECT_EQ(back[0].labels, (std::vector<std::string>{"t1g1", "t1g2", "t1g3"}));
  EXPECT_NEAR(back[0].spread.sd, 0.577610, 1e-5);
  // Two trainings x two games are nested: the interval is over the trainings' means. Values
  // 1.0, 1.2 | 2.0, 2.2: means 1.1 and 2.1, their sd sqrt(0.5) = 0.707107, t(0.975, 1) =
  // 12.706205, half width 12.706205 · 0.707107 / sqrt(2) = 6.353103 (not the 1.16 that four
  // independent values would give); the sd reported is that of the four values,
  // sqrt((0.36 + 0.16 + 0.16 + 0.36) / 3) = 0.588784.
  const auto nested =
      repetition_spread("mia_final_pred", {"t1g1", "t1g2", "t2g1", "t2g2"}, {1.0, 1.2, 2.0, 2.2});
  EXPECT_NEAR(nested.mean, 1.6, 1e-12);
  EXPECT_NEAR(nested.ci_high - nested.mean, 6.353103, 1e-5);
  EXPECT_NEAR(nested.sd, 0.588784, 1e-6);
  EXPECT_EQ(nested.n, 4u);
  // One repetition: nothing to aggregate.
  EXPECT_TRUE(repetition_metrics({reps[0]}, 1, 1).empty());
}

TEST(CliRepetitions, ARepeatedAuditShowsIntervalsEverywhere) {
  testing::TempDir dir;
  testing::write_file(
      dir / "toy.ini",
      testing::toy_config(20,
                          "\n[split]\ntarget_fraction = 0.5\n\n[o1]\ncanaries = 60\n"
                          "\n[game]\nnonmembers = both\n"));
  const auto plain = run_panoramia("audit toy.ini --log-level warn", dir.path());
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const auto repeated = run_panoramia(
      "audit toy.ini --log-level warn --set repeat.target_seeds=2 --set repeat.game_seeds=2",
      dir.path());
  ASSERT_EQ(repeated.exit_code, 0) << repeated.output;
  EXPECT_THAT(repeated.output, HasSubstr("repetitions: 2 target seeds x 2 games = 4"));
  EXPECT_THAT(repeated.output, HasSubstr("f-DP mu_lb"));

  ResultsDb db(dir / "panoramia-work" / "results.db");
  // The first repetition is the plain audit: same numbers, from the cache.
  const auto first = db.metrics(1), second = db.metrics(2);
  for (const std::string col : {"baseline_pred", "mia_final_pred"}) {
    const std::string name = col == "baseline_pred" ? "c_lb" : "eps_c_lb";
    ASSERT_NE(find(first, col, name), nullptr);
    EXPECT_EQ(find(second, col, name)->value, find(first, col, name)->value) << col;
    EXPECT_EQ(find(second, "rep/t1g1/" + col, name)->value, find(first, col, name)->value);
  }
  // Four values per quoted measurement, and the stored mean/interval agree with them.
  std::vector<double> values;
  for (const std::string label : {"t1g1", "t1g2", "t2g1", "t2g2"}) {
    const MetricRecord* v = find(second, "rep/" + label + "/mia_final_pred", "eps_tilde");
    ASSERT_NE(v, nullptr) << label;
    values.push_back(v->value);
  }
  const MetricRecord* mean = find(second, "repeat/mia_final_pred", "eps_tilde");
  ASSERT_NE(mean, nullptr);
  EXPECT_NEAR(mean->value, (values[0] + values[1] + values[2] + values[3]) / 4, 1e-12);
  EXPECT_LE(*mean->ci_low, mean->value);
  EXPECT_GE(*mean->ci_high, mean->value);
  // Games and target seeds do change the numbers (they are real repetitions): the real game's AUCs
  // differ.
  std::vector<double> aucs;
  for (const std::string label : {"t1g1", "t1g2", "t2g1", "t2g2"})
    aucs.push_back(find(second, "rep/" + label + "/real/mia_final_pred", "auc")->value);
  EXPECT_NE(aucs[0], aucs[1]);  // another game, same models
  EXPECT_NE(aucs[0], aucs[2]);  // another training seed
  EXPECT_NE(aucs[2], aucs[3]);
  for (const std::string attack :
       {"repeat/real/mia_final_pred", "repeat/o1/final", "repeat/fdp/final"})
    EXPECT_TRUE(find(second, attack,
                     attack.find("real") != std::string::npos ? "eps_c_lb" : "eps_lb") != nullptr)
        << attack;

  const auto json_out = run_panoramia("export 2 --json --out run.json", dir.path());
  ASSERT_EQ(json_out.exit_code, 0) << json_out.output;
  const auto j = nlohmann::json::parse(testing::read_file(dir / "run.json"));
  ASSERT_TRUE(j.contains("repetitions"));
  bool found = false;
  for (const auto& r : j["repetitions"]) {
    if (r["attack"] == "mia_final_pred" && r["name"] == "eps_tilde") {
      found = true;
      EXPECT_EQ(r["values"].size(), 4u);
      EXPECT_NEAR(r["mean"].get<double>(), mean->value, 1e-12);
      EXPECT_NEAR(r["ci_low"].get<double>(), *mean->ci_low, 1e-12);
    }
  }
  EXPECT_TRUE(found);

  const auto report = run_panoramia("report 2 --out r.html", dir.path());
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const std::string html = testing::read_file(dir / "r.html");
  EXPECT_THAT(html, HasSubstr("<table id=\"repetitions\">"));
  EXPECT_THAT(html, HasSubstr("id=\"repetition-strips\""));

  const auto compare = run_panoramia("compare 1 2", dir.path());
  ASSERT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_THAT(compare.output, HasSubstr("eps_tilde over repetitions"));
  EXPECT_THAT(compare.output, HasSubstr("run 2"));

  // Re-running the grid recomputes nothing: every repetition's stages come from the cache.
  const auto again = run_panoramia(
      "audit toy.ini --log-level warn --set repeat.target_seeds=2 --set repeat.game_seeds=2",
      dir.path());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  for (const auto& s : db.stages(3)) EXPECT_TRUE(s.reused) << s.stage;
  EXPECT_EQ(find(db.metrics(3), "repeat/mia_final_pred", "eps_tilde")->value, mean->value);
}

TEST(CliRepetitions, ABadRepetitionCountIsOneSentence) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(5));
  const auto result = run_panoramia("audit toy.ini --set repeat.game_seeds=0", dir.path());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  // Refused when the config is resolved, by the declared range of the key.
  EXPECT_EQ(result.output,
            "error: --set repeat.game_seeds = '0' is not valid: expected integer in [1, 1000]\n");
}

}  // namespace
}  // namespace panoramia
