// The threshold sweep: the reference mode on a hand-counted example, the all mode against brute
// force.
#include "stats/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace panoramia::stats {
namespace {

struct Column {
  std::vector<double> scores;
  std::vector<int> member;
  void add(double score, int is_member, int count) {
    for (int i = 0; i < count; ++i) {
      scores.push_back(score);
      member.push_back(is_member);
    }
  }
};

// 200 members + 20 generated at 0.8, 100 members at 0.4, 300 generated at 0.3 (620 rows, 300
// members).
Column hand_example() {
  Column c;
  c.add(0.8, 1, 200);
  c.add(0.4, 1, 100);
  c.add(0.8, 0, 20);
  c.add(0.3, 0, 300);
  return c;
}

TEST(Sweep, ReferenceThresholdsAreNumpyLinspace) {
  const std::vector<double> t = reference_thresholds();
  ASSERT_EQ(t.size(), 100u);
  EXPECT_EQ(t.front(), 0.0);
  EXPECT_EQ(t.back(), 1.0);
  // numpy.linspace(0, 1, 100)[33] and [7] (printed with repr), which differ from 33/99 and 7/99.
  EXPECT_EQ(t[33], 0.33333333333333337);
  EXPECT_EQ(t[7], 0.07070707070707072);
  EXPECT_NE(t[33], 33.0 / 99.0);
}

TEST(Sweep, ReferenceModeOnAHandCountedExample) {
  const Column c = hand_example();
  const Measurement m = measure(c.scores, c.member, {});
  EXPECT_DOUBLE_EQ(m.level, 2.5e-4);
  EXPECT_EQ(m.thresholds, 100);
  ASSERT_EQ(m.curve.size(), 100u);
  // τ <= 0.2929 (k <= 29): everything; 0.30303 <= τ <= 0.3939: drops the 0.3s; 0.40404 <= τ <=
  // 0.79798: only the 0.8s; τ >= 0.80808 (k >= 80): nothing.
  EXPECT_EQ(m.curve[0].r, 620);
  EXPECT_EQ(m.curve[29].r, 620);
  EXPECT_EQ(m.curve[29].v, 300);
  EXPECT_EQ(m.curve[30].r, 320);
  EXPECT_EQ(m.curve[39].r, 320);
  EXPECT_EQ(m.curve[39].v, 300);
  EXPECT_EQ(m.curve[40].r, 220);
  EXPECT_EQ(m.curve[79].v, 200);
  EXPECT_EQ(m.curve[80].r, 0);
  EXPECT_EQ(m.curve[99].r, 0);
  EXPECT_DOUBLE_EQ(m.curve[40].recall, 200.0 / 300.0);
  EXPECT_DOUBLE_EQ(m.curve[40].precision, 200.0 / 220.0);
  EXPECT_EQ(m.curve[80].precision, 0.0);

  // The best is (r, v) = (320, 300), first reached at τ_30.
  EXPECT_EQ(m.r, 320);
  EXPECT_EQ(m.v, 300);
  EXPECT_EQ(m.threshold, reference_thresholds()[30]);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.precision, 300.0 / 320.0);
  EXPECT_EQ(m.bound, lower_bound({620, 320, 300, 2.5e-4}));
  EXPECT_GT(m.bound, lower_bound({620, 220, 200, 2.5e-4}));
  EXPECT_GT(m.bound, 1.0);
  for (const SweepPoint& p : m.curve) EXPECT_LE(p.bound, m.bound);
}

TEST(Sweep, ReferenceModeIsStrictAtAThreshold) {
  Column c;
  c.add(reference_thresholds()[33], 1, 5);  // exactly on τ_33: not above it
  c.add(0.9, 0, 1);
  const Measurement m = measure(c.scores, c.member, {});
  EXPECT_EQ(m.curve[32].r, 6);
  EXPECT_EQ(m.curve[33].r, 1);
  EXPECT_EQ(m.curve[33].v, 0);
}

TEST(Sweep, AllModeOnTheHandExample) {
  const Column c = hand_example();
  SweepOptions options;
  options.mode = ThresholdMode::kAll;
  const Measurement m = measure(c.scores, c.member, options);
  EXPECT_EQ(m.thresholds, 3);
  EXPECT_DOUBLE_EQ(m.level, 0.05 / 6);
  EXPECT_EQ(m.threshold, 0.4);  // score >= 0.4
  EXPECT_EQ(m.r, 320);
  EXPECT_EQ(m.v, 300);
  EXPECT_EQ(m.bound, lower_bound({620, 320, 300, 0.05 / 6}));
  ASSERT_EQ(m.curve.size(), 3u);
  EXPECT_EQ(m.curve[0].threshold, 0.3);
  EXPECT_EQ(m.curve[0].r, 620);
  EXPECT_EQ(m.curve[2].threshold, 0.8);
}

// Brute force: every distinct score as a `>=` threshold, counted naively; ties go to the smaller
// threshold.
SweepPoint brute_force_best(const Column& c, double level, BoundSearch search) {
  const std::set<double> distinct(c.scores.begin(), c.scores.end());
  SweepPoint best;
  best.bound = -1;
  for (const double s : distinct) {  // ascending: on equal bounds the first (smallest) one stays
    std::int64_t r = 0;
    std::int64_t v = 0;
    for (std::size_t i = 0; i < c.scores.size(); ++i) {
      if (c.scores[i] >= s) {
        ++r;
        v += c.member[i];
      }
    }
    const double bound =
        lower_bound({static_cast<std::int64_t>(c.scores.size()), r, v, level}, search);
    if (bound > best.bound) best = {s, r, v, 0, 0, bound};
  }
  return best;
}

Column random_column(std::uint64_t seed, std::size_t rows, double shift, double resolution) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  std::normal_distribution<double> noise(0.0, 0.15);
  Column c;
  for (std::size_t i = 0; i < rows; ++i) {
    const int is_member = coin(rng) ? 1 : 0;
    double score = std::clamp(0.5 + shift * is_member + noise(rng), 0.0, 1.0);
    if (resolution > 0) score = std::round(score / resolution) * resolution;  // creates ties
    c.add(score, is_member, 1);
  }
  return c;
}

TEST(Sweep, AllModeEqualsBruteForceOnRandomData) {
  const struct {
    std::size_t rows;
    double shift, resolution;
  } settings[] = {{1500, 0.10, 0.0}, {1500, 0.10, 0.01}, {2000, 0.05, 0.001}, {800, 0.30, 0.0},
                  {800, 0.30, 0.05}, {1200, 0.0, 0.0},   {1200, 0.02, 0.02},  {300, 0.50, 0.0}};
  int positive = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    for (const auto& s : settings) {
      const Column c = random_column(seed, s.rows, s.shift, s.resolution);
      for (const BoundSearch search : {BoundSearch::kExact, BoundSearch::kReference}) {
        SweepOptions options;
        options.mode = ThresholdMode::kAll;
        options.search = search;
        const Measurement m = measure(c.scores, c.member, options);
        const SweepPoint expected = brute_force_best(c, m.level, search);
        const std::set<double> distinct(c.scores.begin(), c.scores.end());
        EXPECT_EQ(m.thresholds, static_cast<std::int64_t>(distinct.size()));
        EXPECT_EQ(m.bound, expected.bound) << "seed " << seed << " shift " << s.shift;
        EXPECT_EQ(m.threshold, expected.threshold) << "seed " << seed << " shift " << s.shift;
        EXPECT_EQ(m.r, expected.r);
        EXPECT_EQ(m.v, expected.v);
        positive += m.bound > 0 ? 1 : 0;
      }
    }
  }
  EXPECT_GT(positive,
            20);  // most settings have signal, so pruning is exercised against a real maximum
}

// Brute force for larger columns: one sort, then every distinct threshold through the exact bound.
SweepPoint sorted_brute_force_best(const Column& c, double level) {
  std::vector<std::pair<double, int>> rows;
  for (std::size_t i = 0; i < c.scores.size(); ++i) rows.emplace_back(c.scores[i], c.member[i]);
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  SweepPoint best;
  best.bound = -1;
  std::int64_t r = 0;
  std::int64_t v = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ++r;
    v += rows[i].second;
    if (i + 1 < rows.size() && rows[i + 1].first == rows[i].first)
      continue;  // threshold = this value
    const auto m = static_cast<std::int64_t>(rows.size());
    const double bound = lower_bound({m, r, v, level}, BoundSearch::kExact);
    if (bound >= best.bound)
      best = {rows[i].first, r, v, 0, 0, bound};  // later = smaller threshold
  }
  return best;
}

TEST(Sweep, AllModeEqualsBruteForceOnLargerData) {
  for (std::uint64_t seed = 11; seed <= 14; ++seed) {
    const double resolution = seed % 2 == 0 ? 1e-4 : 0.0;
    const Column c = random_column(seed, 60000, 0.02 * static_cast<double>(seed - 10), resolution);
    SweepOptions options;
    options.mode = ThresholdMode::kAll;
    options.search = BoundSearch::kExact;
    options.curve_points = 0;
    const Measurement m = measure(c.scores, c.member, options);
    const SweepPoint expected = sorted_brute_force_best(c, m.level);
    EXPECT_EQ(m.bound, expected.bound) << "seed " << seed;
    EXPECT_EQ(m.threshold, expected.threshold) << "seed " << seed;
    EXPECT_EQ(m.r, expected.r) << "seed " << seed;
    EXPECT_GT(m.bound, 0.0) << "seed " << seed;
    ASSERT_EQ(m.curve.size(), 1u);  // curve_points = 0 keeps only the maximiser
    EXPECT_EQ(m.curve[0].bound, m.bound);
  }
}

TEST(Sweep, AllModeCurveIsDownsampledWithExactBounds) {
  const Column c = random_column(7, 5000, 0.1, 0.0);
  SweepOptions options;
  options.mode = ThresholdMode::kAll;
  options.search = BoundSearch::kExact;
  options.curve_points = 50;
  const Measurement m = measure(c.scores, c.member, options);
  const std::set<double> distinct(c.scores.begin(), c.scores.end());
  EXPECT_EQ(m.thresholds, static_cast<std::int64_t>(distinct.size()));
  EXPECT_GT(m.thresholds, 4900);
  ASSERT_LE(m.curve.size(), 51u);
  ASSERT_GE(m.curve.size(), 50u);
  bool has_best = false;
  for (std::size_t i = 0; i < m.curve.size(); ++i) {
    const SweepPoint& p = m.curve[i];
    if (i > 0) {
      EXPECT_GT(p.threshold, m.curve[i - 1].threshold);
    }
    EXPECT_EQ(p.bound, lower_bound({5000, p.r, p.v, m.level}, BoundSearch::kExact));
    EXPECT_EQ(p.threshold, *distinct.lower_bound(p.threshold));  // a score, used with >=
    EXPECT_LE(p.bound, m.bound);
    has_best = has_best || (p.threshold == m.threshold && p.bound == m.bound);
  }
  EXPECT_TRUE(has_best);
}

TEST(Sweep, AllModeWithoutSignalReportsZeroAtTheSmallestThreshold) {
  Column c;
  c.add(0.2, 0, 10);
  c.add(0.5, 1, 3);
  c.add(0.5, 0, 7);
  c.add(0.1, 1, 10);
  SweepOptions options;
  options.mode = ThresholdMode::kAll;
  const Measurement m = measure(c.scores, c.member, options);
  EXPECT_EQ(m.bound, 0.0);
  EXPECT_EQ(m.threshold, 0.1);
  EXPECT_EQ(m.r, 30);
}

TEST(Sweep, RejectsBadInput) {
  EXPECT_THROW(measure({}, {}, {}), std::invalid_argument);
  EXPECT_THROW(measure({0.5, 0.4}, {1}, {}), std::invalid_argument);
  EXPECT_THROW(measure({0.5}, {2}, {}), std::invalid_argument);
  SweepOptions bad;
  bad.confidence = 1.0;
  EXPECT_THROW(measure({0.5}, {1}, bad), std::invalid_argument);
  bad = {};
  bad.measurements = 0;
  EXPECT_THROW(measure({0.5}, {1}, bad), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::stats
