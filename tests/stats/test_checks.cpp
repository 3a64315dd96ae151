// The checks beside every bound: the permutation null and saturation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stats/bound.hpp"
#include "stats/checks.hpp"
#include "stats/score_groups.hpp"
#include "stats/summary.hpp"

namespace panoramia::stats {
namespace {

using ::testing::HasSubstr;

// n rows, about half members; members score u^power, non-members u (power 1: no signal).
ScoreTable table_of(int n, double power, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  ScoreTable table;
  table.source = "test";
  table.names = {"baseline_pred", "mia_x_pred"};
  table.scores.resize(2);
  for (int i = 0; i < n; ++i) {
    const int member = static_cast<int>(rng() >> 63);
    table.member.push_back(member);
    for (auto& column : table.scores) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      column.push_back(member ? std::pow(u, power) : u);
    }
  }
  return table;
}

TEST(PermuteMembers, KeepsTheGroupsAndTheNumberOfMembers) {
  const std::vector<double> scores{0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 0.3, 0.3};
  const std::vector<int> member{1, 1, 1, 0, 0, 0, 1, 0};
  const ScoreGroups groups = group_scores(scores, member);
  const ScoreGroups permuted = permute_members(groups, 7);
  ASSERT_EQ(permuted.size(), groups.size());
  EXPECT_EQ(permuted.members, groups.members);
  EXPECT_EQ(permuted.correct.back(), groups.members);
  std::int64_t sum = 0;
  for (std::size_t j = 0; j < groups.size(); ++j) {
    EXPECT_EQ(permuted.groups[j].value, groups.groups[j].value);
    EXPECT_EQ(permuted.groups[j].total, groups.groups[j].total);
    EXPECT_LE(permuted.groups[j].members, permuted.groups[j].total);
    sum += permuted.groups[j].members;
    EXPECT_EQ(permuted.correct[j], sum);
    EXPECT_EQ(permuted.guesses[j], groups.guesses[j]);
  }
}

// Uniformity: over N relabellings each of the 8 rows is a member with probability 4/8. The
// count for the top group (2 rows) is hypergeometric with mean 2 · 4/8 = 1 and variance
// 2 · (1/2)(1/2)(6/7) = 3/7; its average over N = 20000 draws has standard deviation
// sqrt(3/7 / N) = 0.0046, so 0.03 is 6.5 standard deviations.
TEST(PermuteMembers, DrawsEveryRowAsAMemberWithTheSameProbability) {
  const std::vector<double> scores{0.9, 0.9, 0.5, 0.5, 0.5, 0.1, 0.3, 0.3};
  const std::vector<int> member{1, 1, 1, 0, 0, 0, 1, 0};
  const ScoreGroups groups = group_scores(scores, member);
  constexpr int kDraws = 20000;
  std::vector<double> mean(groups.size(), 0.0);
  for (int k = 0; k < kDraws; ++k) {
    const ScoreGroups p = permute_members(groups, 1000 + static_cast<std::uint64_t>(k));
    for (std::size_t j = 0; j < p.size(); ++j) mean[j] += double(p.groups[j].members) / kDraws;
  }
  for (std::size_t j = 0; j < groups.size(); ++j)
    EXPECT_NEAR(mean[j], 0.5 * static_cast<double>(groups.groups[j].total), 0.03) << "group " << j;
}

TEST(MaxAttainableBound, IsTheBoundOfPerfectGuessesOfEveryMember) {
  // Hand computation: level 2.5e-4, 5000 members: ln q = ln(2.5e-4) / 5000 = -0.00165881,
  // 1 - q = 0.00165881 - 0.00165881^2 / 2 = 0.00165743, logit(q) = ln q - ln(1 - q)
  // = -0.00165881 + 6.40248 = 6.4008 (the README's "about 6.4"); five digits, so 1e-4.
  EXPECT_NEAR(max_attainable_bound(5000, 2.5e-4), 6.4008, 1e-4);
  // Independently through Boost's incomplete-beta inverse (the exact search): r = v = members.
  // Both are correctly rounded to ~1e-15 relative; 1e-9 leaves room for the root finder.
  for (const std::int64_t n : {1, 10, 137, 5000, 100000}) {
    for (const double level : {0.05, 2.5e-4, 1e-7}) {
      const double exact = lower_bound({n, n, n, level}, BoundSearch::kExact);
      EXPECT_NEAR(max_attainable_bound(n, level), exact, 1e-9 * std::max(1.0, exact))
          << n << " members at level " << level;
    }
  }
  EXPECT_EQ(max_attainable_bound(0, 0.05), 0.0);
  EXPECT_THROW(max_attainable_bound(10, 0.0), std::invalid_argument);
  EXPECT_THROW(max_attainable_bound(-1, 0.05), std::invalid_argument);
}

TEST(NullCheck, ANullFileGivesBoundsOfZeroAndIsFlagged) {
  // Members and generated rows from one distribution.
  const ScoreTable table = table_of(4000, 1.0, 11);
  for (const ThresholdMode mode : {ThresholdMode::kReference, ThresholdMode::kAll}) {
    SweepOptions options;
    options.mode = mode;
    const AuditSummary summary = summarize(table, options);
    for (const ColumnSummary& c : summary.columns) {
      EXPECT_LT(c.measurement.bound, 0.1) << c.name;
      EXPECT_EQ(c.null.permutations, kDefaultNullPermutations);
      EXPECT_FALSE(c.null.above) << c.name;
      EXPECT_FALSE(c.saturated) << c.name;
    }
    ASSERT_EQ(summary.warnings.size(), 2u);
    EXPECT_THAT(summary.warnings[0], HasSubstr("baseline_pred: c_lb = "));
    EXPECT_THAT(summary.warnings[0], HasSubstr("shows no membership signal"));
  }
}

TEST(NullCheck, AColumnWithSignalIsAboveTheNull) {
  const ScoreTable table = table_of(4000, 0.5, 12);
  const AuditSummary summary = summarize(table, SweepOptions{});
  for (const ColumnSummary& c : summary.columns) {
    EXPECT_GT(c.measurement.bound, 0.2) << c.name;
    EXPECT_TRUE(c.null.above) << c.name;
    EXPECT_LE(c.null.p95, c.null.max);
    // Under the null the sweep's own level keeps P(bound > 0) <= 2.5%, so the 95th percentile
    // of 100 permutations is 0 unless the test itself is broken.
    EXPECT_EQ(c.null.p95, 0.0) << c.name;
  }
  EXPECT_TRUE(summary.warnings.empty());
}

TEST(NullCheck, IsReproducibleAndCanBeSwitchedOff) {
  const ScoreTable table = table_of(1000, 1.0, 13);
  CheckOptions checks;
  checks.null_permutations = 40;
  const AuditSummary a = summarize(table, SweepOptions{}, checks);
  const AuditSummary b = summarize(table, SweepOptions{}, checks);
  EXPECT_EQ(a.columns[0].null.max, b.columns[0].null.max);
  EXPECT_EQ(a.columns[0].null.permutations, 40);
  checks.null_permutations = 0;
  const AuditSummary off = summarize(table, SweepOptions{}, checks);
  EXPECT_EQ(off.columns[0].null.permutations, 0);
  EXPECT_EQ(off.columns[0].measurement.bound, a.columns[0].measurement.bound);
  EXPECT_THROW(null_check(group_scores({0.1}, {1}), 0, SweepOptions{}, 0, 1),
               std::invalid_argument);
}

// The summary splits a null into pieces of relabellings on its threads: the pieces joined and
// sorted are the one-thread distribution, value for value, in both modes; and the summary's null
// of each column is the one computed column by column with the seed the summary documents.
TEST(NullCheck, PiecesOnThreadsGiveTheOneThreadDistribution) {
  const ScoreTable table = table_of(3000, 0.8, 14);
  for (const ThresholdMode mode : {ThresholdMode::kReference, ThresholdMode::kAll}) {
    SweepOptions options;
    options.mode = mode;
    const ScoreGroups groups = group_scores(table.scores[1], table.member);
    const std::vector<double> whole = null_distribution(groups, options, 23, 99);
    std::vector<double> joined;
    for (const auto& [first, count] : {std::pair{0, 7}, std::pair{7, 1}, std::pair{8, 15}}) {
      const auto piece = null_bounds(groups, options, first, count, 99);
      ASSERT_EQ(piece.size(), static_cast<std::size_t>(count));
      joined.insert(joined.end(), piece.begin(), piece.end());
    }
    std::sort(joined.begin(), joined.end());
    EXPECT_EQ(joined, whole);
    CheckOptions checks;
    checks.null_permutations = 23;
    const AuditSummary summary = summarize(table, options, checks);
    for (std::size_t c = 0; c < table.names.size(); ++c) {
      const ScoreGroups g = group_scores(table.scores[c], table.member);
      const NullCheck expected = null_check(g, summary.columns[c].measurement.bound, options, 23,
                                            checks.null_seed ^ tie_structure_hash(g));
      EXPECT_EQ(summary.columns[c].null.max, expected.max) << c;
      EXPECT_EQ(summary.columns[c].null.p95, expected.p95) << c;
      EXPECT_EQ(summary.columns[c].null.above, expected.above) << c;
    }
  }
}

TEST(Saturation, PerfectSeparationIsReportedForTheBaselineAndTheMia) {
  ScoreTable table;
  table.source = "separable";
  table.names = {"baseline_pred", "mia_x_pred"};
  table.scores.resize(2);
  for (int i = 0; i < 2000; ++i) {
    const int member = i % 2;
    table.member.push_back(member);
    table.scores[0].push_back(member ? 0.75 + 1e-4 * (i % 100) : 0.25);
    table.scores[1].push_back(member ? 0.9 : 0.1 + 1e-4 * (i % 100));
  }
  const AuditSummary summary = summarize(table, SweepOptions{});
  for (const ColumnSummary& c : summary.columns) {
    EXPECT_TRUE(c.saturated) << c.name;
    EXPECT_NEAR(c.max_bound, max_attainable_bound(1000, c.measurement.level), 0);
    EXPECT_GE(c.measurement.bound, 0.9 * c.max_bound);
    EXPECT_LE(c.measurement.bound, c.max_bound);
  }
  ASSERT_EQ(summary.warnings.size(), 2u);
  EXPECT_THAT(summary.warnings[0], HasSubstr("eps_tilde cannot be read at this generator quality"));
  EXPECT_THAT(summary.warnings[0], HasSubstr("real-non-member game"));
  EXPECT_THAT(summary.warnings[1], HasSubstr("mia_x_pred: {eps+c}_lb"));
  EXPECT_THAT(summary.warnings[1], HasSubstr("larger game"));
}

}  // namespace
}  // namespace panoramia::stats
