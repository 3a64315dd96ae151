// Several attacks in one audit (`--attacks`, `[attacks] list`) on the toy modality, with reference
// models (`[helper] count`): what is stored, what `show`, `compare` and `report` print, the cache,
// and every way to get it wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "results_db.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using testing::run_panoramia;

const char* const kReferenceAttacks = "calibrated-loss,rmia,lira-offline,reference-ratio";

std::map<std::string, double> metrics_of(const ResultsDb& db, std::int64_t run,
                                         const std::string& attack) {
  std::map<std::string, double> out;
  for (const auto& m : db.metrics(run))
    if (m.attack == attack) out[m.name] = m.value;
  return out;
}

TEST(CliAttacks, EveryListedAttackPlaysTheSameGameWithTheSameReferences) {
  testing::TempDir dir;
  testing::write_file(
      dir / "toy.ini",
      testing::toy_config(40, "\n[split]\ntarget_fraction = 0.5\n\n[game]\nnonmembers = both\n"));
  const std::string command = std::string("audit toy.ini --log-level warn --set helper.count=3 ") +
                              "--attacks " + kReferenceAttacks;
  const auto result = run_panoramia(command, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("attacks side by side"));
  for (const std::string attack :
       {"loss-threshold", "calibrated-loss", "rmia", "lira-offline", "reference-ratio"})
    EXPECT_THAT(result.output, HasSubstr("  " + attack + " ")) << attack;

  ResultsDb db(dir / "panoramia-work" / "results.db");
  // Three helpers trained (helper 1 and two reference models), each attack on every side.
  std::set<std::string> stages;
  for (const auto& s : db.stages(1)) stages.insert(s.stage);
  for (const std::string stage :
       {"helper", "helper-2", "helper-3", "attack-baseline", "attack-mia_final",
        "attack-rmia-baseline", "attack-rmia-mia_final", "attack-real-rmia-mia_best",
        "attack-lira-offline-mia_best"})
    EXPECT_TRUE(stages.count(stage)) << stage;
  // The [attack] plugin's rows keep their names; each listed attack has the same rows under
  // attacks/NAME/, its real-non-member game and its time.
  const auto primary = metrics_of(db, 1, "baseline_pred");
  ASSERT_TRUE(primary.count("c_lb"));
  for (const std::string attack : {"calibrated-loss", "rmia", "lira-offline", "reference-ratio"}) {
    const std::string prefix = "attacks/" + attack + "/";
    const auto baseline = metrics_of(db, 1, prefix + "baseline_pred");
    const auto mia = metrics_of(db, 1, prefix + "mia_final_pred");
    ASSERT_TRUE(baseline.count("c_lb")) << attack;
    ASSERT_TRUE(mia.count("eps_c_lb")) << attack;
    EXPECT_DOUBLE_EQ(mia.at("eps_tilde"), mia.at("eps_c_lb") - baseline.at("c_lb")) << attack;
    EXPECT_DOUBLE_EQ(metrics_of(db, 1, prefix + "audit").at("c_lb"), baseline.at("c_lb"));
    EXPECT_TRUE(metrics_of(db, 1, prefix + "real/mia_final_pred").count("eps_c_lb")) << attack;
    EXPECT_GT(metrics_of(db, 1, prefix + "audit").at("attack_seconds"), 0) << attack;
    for (const double v : {baseline.at("auc"), mia.at("auc")}) {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 1);
    }
  }
  // The reference CSV keeps the [attack] plugin's columns; the listed ones are stored apart.
  std::set<std::string> columns;
  for (const auto& c : db.scores(1)) columns.insert(c.attack);
  EXPECT_TRUE(columns.count("mia_final_pred"));
  EXPECT_TRUE(columns.count("attacks/rmia/mia_final_pred"));
  // The stored config writes the list back as a config file would.
  EXPECT_THAT(db.run(1).config,
              HasSubstr("[attacks]\nlist = calibrated-loss,rmia,lira-offline,reference-ratio\n"
                        "calibrated-loss.l2 = 0.0001\n"));
  EXPECT_THAT(db.run(1).config, HasSubstr("[helper]\ncount = 3\n"));

  // Same config and seed: every stage from the cache and the same numbers (attack times too:
  // the cached entry keeps the time it was computed in).
  const auto again = run_panoramia(command, dir.path());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  for (const auto& s : db.stages(2)) EXPECT_TRUE(s.reused) << s.stage;
  for (const std::string key : {"attacks/rmia/mia_final_pred", "attacks/lira-offline/audit"})
    EXPECT_EQ(metrics_of(db, 1, key), metrics_of(db, 2, key)) << key;

  // show, compare and report put them side by side.
  const auto show = run_panoramia("show 1", dir.path());
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_THAT(show.output, HasSubstr("attacks side by side"));
  EXPECT_THAT(show.output, HasSubstr("  lira-offline     mia_best_pred "));
  const auto compare = run_panoramia("compare 1 2", dir.path());
  ASSERT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_THAT(compare.output, HasSubstr("run 2:\nattacks side by side"));
  const auto report = run_panoramia("report 1 --out r.html", dir.path());
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const std::string html = testing::read_file(dir / "r.html");
  EXPECT_THAT(html, HasSubstr("<table id=\"attacks\">"));
  EXPECT_THAT(html, HasSubstr("<td>reference-ratio</td><td>mia_final_pred</td>"));
  // The listed attacks' curves are stored with the run, and the report overlays every attack's ROC
  // for each MIA (gnuplot-nox is installed by scripts/install-deps).
  std::set<std::string> curves;
  for (const auto& c : db.curves(1)) curves.insert(c.attack + " " + c.name);
  EXPECT_TRUE(curves.count("attacks/rmia/mia_final_pred roc"));
  EXPECT_TRUE(curves.count("attacks/lira-offline/baseline_pred bound_vs_recall"));
  EXPECT_THAT(html, HasSubstr("<figure id=\"attacks-roc-1-mia_final_pred\""));
  EXPECT_THAT(html, HasSubstr("<figure id=\"attacks-roc-1-mia_best_pred\""));
}

TEST(CliAttacks, WithRepetitionsEveryAttackGetsItsInterval) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(20));
  const auto result = run_panoramia(
      "audit toy.ini --log-level warn --set helper.count=2 --set repeat.game_seeds=3 "
      "--attacks calibrated-loss",
      dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("bound 95% interval"));
  ResultsDb db(dir / "panoramia-work" / "results.db");
  bool interval = false;
  for (const auto& m : db.metrics(1))
    if (m.attack == "repeat/attacks/calibrated-loss/mia_final_pred" && m.name == "eps_c_lb") {
      ASSERT_TRUE(m.ci_low && m.ci_high);
      EXPECT_LE(*m.ci_low, m.value);
      EXPECT_GE(*m.ci_high, m.value);
      interval = true;
    }
  EXPECT_TRUE(interval);
}

struct BadAttackCase {
  std::string arguments;
  int exit_code;
  std::string message;
};

TEST(CliAttacks, BadListsAndMissingSignalsAreOneSentence) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(5));
  const std::vector<BadAttackCase> cases{
      {"--attacks nope", 2, "--set attacks.list: no attack plugin named 'nope' is loaded"},
      {"--attacks loss-threshold", 2,
       "--set attacks.list names 'loss-threshold', which is already the [attack] plugin"},
      {"--attacks rmia,rmia", 2, "--set attacks.list names 'rmia' twice"},
      {"--attacks rmia --set attacks.rmia.gamma=0", 2,
       "--set attacks.rmia.gamma = '0' is not valid: expected number > 0"},
      {"--attacks rmia --set attacks.rmia.gama=2", 2,
       "--set attacks.rmia.gama is not a known key of [attacks] or of plugin 'rmia'; did you "
       "mean 'rmia.gamma'?"},
      {"--set attacks.lira-offline.variance=global", 2,
       "--set attacks.lira-offline.variance sets an option of 'lira-offline', which is not in "
       "[attacks] list"},
      {"--set helper.count=0", 2, "--set helper.count = '0' is not valid"},
      {"--attacks rmia", 3,
       "rmia needs reference models: set [helper] count to 2 or more (helpers 2..count are the "
       "references)"},
      {"--attacks min-k-prob", 3,
       "min-k-prob needs the side model's per-token losses (loss_vector [n, T]), which this "
       "target does not give"},
      {"--attacks zlib-ratio", 3, "zlib-ratio needs text samples, not vector ones"},
  };
  for (const auto& c : cases) {
    const auto r = run_panoramia("audit toy.ini --log-level off " + c.arguments, dir.path());
    EXPECT_EQ(r.exit_code, c.exit_code) << c.arguments << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.arguments;
    // One sentence on one line.
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << c.arguments << r.output;
  }
}

}  // namespace
}  // namespace panoramia
