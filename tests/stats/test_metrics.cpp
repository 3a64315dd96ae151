// AUC, TPR at FPR and the ROC curve against brute force and hand-counted cases.
#include "stats/metrics.hpp"

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace panoramia::stats {
namespace {

double pairwise_auc(const std::vector<double>& scores, const std::vector<int>& member) {
  double wins = 0;
  double pairs = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (member[i] != 1) continue;
    for (std::size_t j = 0; j < scores.size(); ++j) {
      if (member[j] != 0) continue;
      pairs += 1;
      wins += scores[i] > scores[j] ? 1.0 : (scores[i] == scores[j] ? 0.5 : 0.0);
    }
  }
  return wins / pairs;
}

TEST(Metrics, AucEqualsPairwiseCountWithTies) {
  for (const double resolution : {0.0, 0.1, 0.01}) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<double> scores;
    std::vector<int> member;
    for (int i = 0; i < 700; ++i) {
      const int m = uniform(rng) < 0.4 ? 1 : 0;
      double s = std::min(1.0, uniform(rng) * 0.8 + 0.15 * m);
      if (resolution > 0) s = std::round(s / resolution) * resolution;
      scores.push_back(s);
      member.push_back(m);
    }
    // Float64 both, from integer (half-)counts below 2^53: exact counts, then a ratio or at most
    // 700 accumulated steps, ≤ 700·u64 ≈ 8e-14 (1e-12 leaves 10x); one tie counted wrongly is
    // 1/(280·420) ≈ 8.5e-6 off.
    EXPECT_NEAR(auc(scores, member), pairwise_auc(scores, member), 1e-12) << resolution;
  }
}

TEST(Metrics, AucHandCases) {
  EXPECT_DOUBLE_EQ(auc({0.9, 0.8, 0.1}, {1, 1, 0}), 1.0);
  EXPECT_DOUBLE_EQ(auc({0.1, 0.8, 0.9}, {1, 1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(auc({0.5, 0.5}, {1, 0}), 0.5);
  // Members 0.9 and 0.5; generated 0.5 and 0.2: wins 1 + 1 + 0.5 + 1 = 3.5 of 4 pairs.
  EXPECT_DOUBLE_EQ(auc({0.9, 0.5, 0.5, 0.2}, {1, 1, 0, 0}), 0.875);
  EXPECT_TRUE(std::isnan(auc({0.9, 0.5}, {1, 1})));
}

// Four members, six generated: scores descending 0.9m 0.8n 0.7m 0.6m 0.5n 0.4n 0.3m 0.2n 0.1n
// 0.05n.
const std::vector<double> kScores = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05};
const std::vector<int> kMembers = {1, 0, 1, 1, 0, 0, 1, 0, 0, 0};

TEST(Metrics, TprAtFprHandCase) {
  // (FPR, TPR) at >= 0.9: (0, .25); 0.8: (1/6, .25); 0.7: (1/6, .5); 0.6: (1/6, .75); 0.5: (2/6,
  // .75); 0.4: (3/6, .75); 0.3: (3/6, 1); then FPR grows to 1 at TPR 1.
  EXPECT_DOUBLE_EQ(tpr_at_fpr(kScores, kMembers, 0.0), 0.25);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(kScores, kMembers, 0.1), 0.25);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(kScores, kMembers, 0.2), 0.75);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(kScores, kMembers, 0.4), 0.75);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(kScores, kMembers, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(kScores, kMembers, 1.0), 1.0);
  // The top score is generated: no threshold has FPR 0 except predicting nothing.
  EXPECT_DOUBLE_EQ(tpr_at_fpr({0.9, 0.5, 0.4}, {0, 1, 0}, 0.0), 0.0);
  // FPR exactly at the budget counts: at >= 0.85, 1 of 10 generated (FPR 0.1) and 2 of 3 members.
  std::vector<double> s = {0.95, 0.9, 0.85};
  std::vector<int> m = {1, 0, 1};
  for (int i = 0; i < 9; ++i) {
    s.push_back(0.1);
    m.push_back(0);
  }
  s.push_back(0.05);
  m.push_back(1);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, m, 0.1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(tpr_at_fpr(s, m, 0.099), 1.0 / 3.0);
  EXPECT_THROW(tpr_at_fpr(kScores, kMembers, 1.5), std::invalid_argument);
}

TEST(Metrics, RocCurveRunsFromOriginToOneOne) {
  const std::vector<RocPoint> roc = roc_curve(kScores, kMembers);
  ASSERT_EQ(roc.size(), 11u);
  EXPECT_TRUE(std::isinf(roc.front().threshold));
  EXPECT_EQ(roc.front().fpr, 0.0);
  EXPECT_EQ(roc.front().tpr, 0.0);
  EXPECT_DOUBLE_EQ(roc[3].tpr, 0.5);
  EXPECT_DOUBLE_EQ(roc[3].fpr, 1.0 / 6.0);
  EXPECT_EQ(roc.back().fpr, 1.0);
  EXPECT_EQ(roc.back().tpr, 1.0);

  const std::vector<RocPoint> small = roc_curve(kScores, kMembers, 4);
  ASSERT_EQ(small.size(), 4u);
  EXPECT_EQ(small.front().fpr, 0.0);
  EXPECT_EQ(small.back().tpr, 1.0);
  for (std::size_t i = 1; i < small.size(); ++i) EXPECT_GE(small[i].fpr, small[i - 1].fpr);
}

}  // namespace
}  // namespace panoramia::stats
