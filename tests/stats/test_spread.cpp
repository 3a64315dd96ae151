// The repetition interval against hand computations.
#include <cmath>

#include <gtest/gtest.h>

#include "stats/spread.hpp"

namespace panoramia::stats {
namespace {

TEST(Spread, MatchesAHandComputedTInterval) {
  // Values 0.59, 0.11, -0.56 (the quickstart's eps_tilde on seeds 1-3): mean 0.14/3 = 0.046667;
  // squares about the mean: 0.543333^2 + 0.063333^2 + 0.606667^2 = 0.295211 + 0.004011 + 0.368045
  // = 0.667267, sd = sqrt(0.667267 / 2) = 0.577610; t(0.975, 2) = 4.302653 (tables); half width
  // = 4.302653 · 0.577610 / sqrt(3) = 1.434863. Six significant digits by hand, so 1e-5.
  const Spread s = spread({0.59, 0.11, -0.56});
  EXPECT_EQ(s.n, 3u);
  EXPECT_NEAR(s.mean, 0.046667, 1e-5);
  EXPECT_NEAR(s.sd, 0.577610, 1e-5);
  EXPECT_NEAR(s.ci_low, 0.046667 - 1.434863, 1e-5);
  EXPECT_NEAR(s.ci_high, 0.046667 + 1.434863, 1e-5);
}

TEST(Spread, FiveValuesAtNinetyPercent) {
  // 1, 2, 3, 4, 5: mean 3, sd sqrt(10/4) = 1.581139; t(0.95, 4) = 2.131847; half width
  // 2.131847 · 1.581139 / sqrt(5) = 1.507443.
  const Spread s = spread({1, 2, 3, 4, 5}, 0.9);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_NEAR(s.sd, 1.581139, 1e-6);
  EXPECT_NEAR(s.ci_high - s.mean, 1.507443, 1e-6);
  EXPECT_NEAR(s.mean - s.ci_low, 1.507443, 1e-6);
}

TEST(Spread, OneValueHasNoSpreadAndBadInputIsRefused) {
  const Spread s = spread({0.25});
  EXPECT_EQ(s.sd, 0.0);
  EXPECT_EQ(s.ci_low, 0.25);
  EXPECT_EQ(s.ci_high, 0.25);
  EXPECT_THROW(spread({}), std::invalid_argument);
  EXPECT_THROW(spread({1.0, std::nan("")}), std::invalid_argument);
  EXPECT_THROW(spread({1.0, 2.0}, 1.0), std::invalid_argument);
}

TEST(Spread, DisjointIntervals) {
  const Spread a = spread({1.0, 1.1, 0.9});
  const Spread b = spread({2.0, 2.1, 1.9});
  const Spread c = spread({1.0, 2.0, 3.0});
  EXPECT_TRUE(intervals_disjoint(a, b));
  EXPECT_FALSE(intervals_disjoint(a, c));
  EXPECT_FALSE(intervals_disjoint(c, b));
}

}  // namespace
}  // namespace panoramia::stats
