// The O(1) audit (docs/method.md §1.6): guess counting, the valid selection modes and the reference
// one.
#include <gtest/gtest.h>
#include <limits>

#include <random>

#include "stats/o1.hpp"
#include "support/simulated_games.hpp"

namespace panoramia::stats {
namespace {

// The level of a 95% confidence bound, computed as the code does.
const double kO1Alpha = 1 - 0.95;

TEST(O1, GuessesCountMembersAmongLowAndNonMembersAmongHighLosses) {
  const std::vector<double> loss{0.1, 0.2, 0.3, 0.9, 0.8};
  const std::vector<int> member{1, 0, 1, 0, 1};
  std::int64_t r = 0, v = 0;
  o1_guesses(loss, member, 2, 1, r, v);  // member: 0.1 (yes), 0.2 (no); non-member: 0.9 (yes)
  EXPECT_EQ(r, 3);
  EXPECT_EQ(v, 2);
  o1_guesses(loss, member, 0, 2, r, v);  // non-member: 0.9 (yes), 0.8 (no)
  EXPECT_EQ(r, 2);
  EXPECT_EQ(v, 1);
  EXPECT_THROW(o1_guesses(loss, member, 4, 2, r, v), std::invalid_argument);
}

TEST(O1, FixedModeIsTheSteinkeBoundOfItsGuesses) {
  std::vector<double> loss;
  std::vector<int> member;
  testing::canary_losses(1000, 2.0, 2.0, loss, member, 1);
  O1Options o;
  o.selection = O1Selection::kFixed;
  o.k_plus = 100;
  o.k_minus = 50;
  o.delta = 1e-5;
  const O1Result r = o1_audit(loss, member, o);
  std::int64_t rr = 0, vv = 0;
  o1_guesses(loss, member, 100, 50, rr, vv);
  EXPECT_EQ(r.r, 150);
  EXPECT_EQ(r.v, vv);
  EXPECT_DOUBLE_EQ(r.level, kO1Alpha);
  EXPECT_DOUBLE_EQ(r.eps_lb, lower_bound(BoundQuery{1000, 150, vv, kO1Alpha, 1e-5, 0}));
  EXPECT_GT(r.eps_lb, 0.5);
  // The δ term only lowers the bound.
  o.delta = 0;
  EXPECT_GE(o1_audit(loss, member, o).eps_lb, r.eps_lb);
}

TEST(O1, BonferroniTakesTheMaxOverThePairsAtTheCorrectedLevel) {
  std::vector<double> loss;
  std::vector<int> member;
  testing::canary_losses(2000, 1.5, 2.0, loss, member, 2);
  O1Options o;
  o.grid = {0.0, 0.05, 0.1, 0.25};
  const O1Result r = o1_audit(loss, member, o);
  EXPECT_EQ(r.tests, 15);  // 4x4 pairs minus (0, 0)
  EXPECT_DOUBLE_EQ(r.level, kO1Alpha / 15);
  double best = 0;
  for (std::int64_t kp : {0, 100, 200, 500})
    for (std::int64_t km : {0, 100, 200, 500}) {
      if (kp + km == 0) continue;
      std::int64_t rr = 0, vv = 0;
      o1_guesses(loss, member, kp, km, rr, vv);
      best = std::max(best, lower_bound(BoundQuery{2000, rr, vv, kO1Alpha / 15, 0, 0}));
    }
  EXPECT_DOUBLE_EQ(r.eps_lb, best);
  EXPECT_FALSE(r.optimistic);
}

TEST(O1, NoSignalGivesNoLeakage) {
  std::vector<double> loss;
  std::vector<int> member;
  testing::canary_losses(1000, 0.0, 2.0, loss, member, 3);
  for (auto sel : {O1Selection::kBonferroni, O1Selection::kSplit}) {
    O1Options o;
    o.selection = sel;
    EXPECT_LT(o1_audit(loss, member, o).eps_lb, 0.35) << to_string(sel);
  }
}

TEST(O1, SplitEvaluatesOnTheHeldOutHalf) {
  std::vector<double> loss;
  std::vector<int> member;
  testing::canary_losses(1001, 2.0, 2.0, loss, member, 4);
  O1Options o;
  o.selection = O1Selection::kSplit;
  o.split_seed = 9;
  const O1Result r = o1_audit(loss, member, o);
  EXPECT_EQ(r.m, 501);
  EXPECT_DOUBLE_EQ(r.level, kO1Alpha);
  EXPECT_GT(r.eps_lb, 0.5);
  EXPECT_LE(r.k_plus + r.k_minus, 501);
}

TEST(O1, ReferenceSelectionIsLabelledOptimisticAndIsAtLeastTheCorrectedOne) {
  std::vector<double> loss;
  std::vector<int> member;
  testing::canary_losses(500, 1.5, 2.0, loss, member, 5);
  O1Options o;
  o.selection = O1Selection::kReference;
  const O1Result ref = o1_audit(loss, member, o);
  EXPECT_TRUE(ref.optimistic);
  EXPECT_DOUBLE_EQ(ref.level, 0.05);
  o.selection = O1Selection::kBonferroni;
  EXPECT_GE(ref.eps_lb, o1_audit(loss, member, o).eps_lb);
  // Its (r, v) are those of a loss-threshold guess: re-derive the bound from them.
  EXPECT_DOUBLE_EQ(ref.eps_lb, lower_bound(BoundQuery{500, ref.r, ref.v, 0.05, 0, 0}));
}

TEST(O1, InvalidInputIsRefused) {
  O1Options o;
  EXPECT_THROW(o1_audit({}, {}, o), std::invalid_argument);
  EXPECT_THROW(o1_audit({0.1, 0.2}, {1}, o), std::invalid_argument);
  o.confidence = 1.5;
  EXPECT_THROW(o1_audit({0.1, 0.2}, {1, 0}, o), std::invalid_argument);
  // The reference selection's 0.01-step grid: huge or infinite losses are refused at once
  // (before: a grid of 10^8 points, or a loop that never ended).
  o = O1Options{};
  o.selection = O1Selection::kReference;
  EXPECT_THROW(o1_audit({0.1, 1e6}, {1, 0}, o), std::invalid_argument);
  EXPECT_THROW(o1_audit({0.1, std::numeric_limits<double>::infinity()}, {1, 0}, o),
               std::invalid_argument);
  EXPECT_NO_THROW(o1_audit({0.1, 150.0}, {1, 0}, o));  // 15,000 points: still allowed
}

}  // namespace
}  // namespace panoramia::stats
