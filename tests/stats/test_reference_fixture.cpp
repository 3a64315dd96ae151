// End to end against numbers computed outside this library: a deterministic score CSV (splitmix64
// draws, reproducible in any language) summarised here and, independently, by a Python
// re-implementation of the reference plotting procedure (docs/method.md §1.5, §3.10) on
// scipy 1.10.1 / numpy 1.24.2: binom.sf, 30 bisections, np.linspace(0, 1, 100) with `score > t`;
// AUC from scipy.stats.mannwhitneyu.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "stats/score_csv.hpp"
#include "stats/splitmix.hpp"
#include "stats/summary.hpp"
#include "temp_file.hpp"

namespace panoramia::stats {
namespace {

// 3000 rows; members get sqrt(u) (baseline) and u^(1/4) (MIA), generated rows get u.
std::string fixture_csv() {
  SplitMix64 rng(20240501);
  std::string text = "member,baseline_pred,mia_x_pred\n";
  char line[96];
  for (int i = 0; i < 3000; ++i) {
    const int member = (rng.next() >> 63) ? 1 : 0;
    const double u = rng.uniform();
    const double w = rng.uniform();
    const double baseline = member ? std::sqrt(u) : u;
    const double mia = member ? std::sqrt(std::sqrt(w)) : w;
    std::snprintf(line, sizeof line, "%d,%.17g,%.17g\n", member, baseline, mia);
    text += line;
  }
  return text;
}

class ReferenceFixture : public ::testing::Test {
 protected:
  ReferenceFixture() : file_(fixture_csv()), table_(read_score_csv(file_.path())) {}
  testing::TempFile file_;
  ScoreTable table_;
};

TEST_F(ReferenceFixture, DataMatchesThePythonGenerator) {
  ASSERT_EQ(table_.rows(), 3000u);
  EXPECT_EQ(std::count(table_.member.begin(), table_.member.end(), 1), 1506);
  EXPECT_EQ(table_.column("baseline_pred")[0], 0.3321572485815722);
  EXPECT_EQ(table_.column("mia_x_pred")[1], 0.30212586113792594);
}

TEST_F(ReferenceFixture, ReferenceModeMatchesPython) {
  const AuditSummary summary = summarize(table_, {});
  const Measurement& baseline = summary.columns[0].measurement;
  const Measurement& mia = summary.columns[1].measurement;
  // The bounds: the fixture's 30 bisections resolve ε to ~1e-8 and it prints 9 decimals, while
  // this library solves the root to float64 precision, so 1e-6 is the reference's own resolution
  // with 100x margin (the next threshold's bound is ≥ 1e-3 away); eps_tilde is the difference of
  // two such values (2e-6). The AUC is a ratio of integer rank counts in float64, ≲ 1e-15 off,
  // printed to 12 decimals (1e-11). The thresholds are np.linspace's i·(1/99) reproduced with the
  // same float64 operations (exact equality, no FMA on x86-64's baseline).
  EXPECT_NEAR(summary.c_lb, 0.456055505, 1e-6);
  EXPECT_EQ(baseline.threshold, 0.787878787878788);
  EXPECT_EQ(baseline.r, 866);
  EXPECT_EQ(baseline.v, 580);
  EXPECT_NEAR(mia.bound, 0.972051921, 1e-6);
  EXPECT_EQ(mia.threshold, 0.9292929292929294);
  EXPECT_EQ(mia.r, 517);
  EXPECT_EQ(mia.v, 410);
  EXPECT_NEAR(summary.mias[0].eps_tilde, 0.972051921 - 0.456055505, 2e-6);
  EXPECT_NEAR(summary.columns[0].auc, 0.674474791597, 1e-11);
  EXPECT_NEAR(summary.columns[1].auc, 0.792266454041, 1e-11);
}

TEST_F(ReferenceFixture, AllModeMatchesPythonBruteForce) {
  SweepOptions options;
  options.mode = ThresholdMode::kAll;
  const AuditSummary summary = summarize(table_, options);
  const Measurement& baseline = summary.columns[0].measurement;
  const Measurement& mia = summary.columns[1].measurement;
  EXPECT_EQ(baseline.thresholds, 3000);
  EXPECT_DOUBLE_EQ(baseline.level, 0.05 / 6000);
  // 1e-6: the fixture's bisection resolution and 9 printed decimals, as in
  // ReferenceModeMatchesPython.
  EXPECT_NEAR(baseline.bound, 0.410386558, 1e-6);
  EXPECT_EQ(baseline.threshold, 0.7898012297418898);
  EXPECT_EQ(baseline.r, 859);
  EXPECT_EQ(baseline.v, 578);
  EXPECT_NEAR(mia.bound, 0.897032836, 1e-6);
  EXPECT_EQ(mia.threshold, 0.9304646483334852);
  EXPECT_EQ(mia.r, 512);
  EXPECT_EQ(mia.v, 407);
}

}  // namespace
}  // namespace panoramia::stats
