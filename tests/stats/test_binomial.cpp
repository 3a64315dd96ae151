// Binomial p-values against values computed independently of this library.
#include "stats/binomial.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>

#include <gtest/gtest.h>

namespace panoramia::stats {
namespace {

// P[Bin(r, q) >= v] by summing the pmf in long double from lgamma; independent of Boost. Only for
// moderate r, where the summation is accurate to far better than the tolerance used below: r ≤ 300
// long-double terms (u = 5.4e-20) each from lgamma/exp/log with a few ulps, so ≲ 1e-15 relative;
// the library's float64 tail (Boost's incomplete beta, ~1e-14 relative) is the larger error.
// 1e-12 absolute / 1e-9 relative leave ≥ 1e3x; an off-by-one in v (P[X ≥ v] vs P[X > v]) is
// ≥ 1e-3 off.
double brute_force_tail(std::int64_t r, std::int64_t v, long double q) {
  long double sum = 0;
  for (std::int64_t k = std::max<std::int64_t>(v, 0); k <= r; ++k) {
    const long double log_choose = std::lgamma(static_cast<long double>(r + 1)) -
                                   std::lgamma(static_cast<long double>(k + 1)) -
                                   std::lgamma(static_cast<long double>(r - k + 1));
    sum += std::exp(log_choose + k * std::log(q) + (r - k) * std::log1p(-q));
  }
  return static_cast<double>(sum);
}

long double sigmoid_ld(long double e) {
  return 1.0L / (1.0L + std::exp(-e));
}

TEST(Binomial, PvalueMatchesBruteForcePmfSummation) {
  const struct {
    std::int64_t r, v;
    double e;
  } cases[] = {{10, 7, 0.0},   {10, 10, 1.0},   {37, 20, 0.3},   {100, 90, 1.5},
               {100, 60, 0.1}, {250, 240, 2.5}, {300, 151, 0.0}, {64, 1, -1.0}};
  for (const auto& c : cases) {
    const double expected = brute_force_tail(c.r, c.v, sigmoid_ld(c.e));
    EXPECT_NEAR(pvalue(c.r, c.v, c.e), expected, 1e-12 * std::max(1.0, expected))
        << "r=" << c.r << " v=" << c.v << " e=" << c.e;
    EXPECT_NEAR(pvalue(c.r, c.v, c.e) / expected, 1.0, 1e-9) << "relative, r=" << c.r;
  }
}

// Fixture values from scipy 1.10.1 (Debian python3-scipy): binom.sf(v - 1, r, 1 / (1 + exp(-e))),
// printed to 17 digits; both are float64 evaluations of the incomplete beta function (relative
// error ≲ 1e-13 even for r = 1e6, whose log-scale terms amplify the argument's rounding by ~r),
// so 1e-9 relative leaves ≥ 1e3x.
TEST(Binomial, PvalueMatchesScipyForLargeCounts) {
  const struct {
    std::int64_t r, v;
    double e, expected;
  } cases[] = {
      {1000, 900, 2.0, 0.031670422665258609},       {5000, 4000, 1.2, 4.4933677029000473e-08},
      {100000, 60000, 0.3, 1.1430188737990377e-60}, {1000000, 520000, 0.05, 3.1079600087418417e-51},
      {762, 762, 4.5, 0.00022077166631845566},      {50, 30, 0.0, 0.10131937553227033},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(pvalue(c.r, c.v, c.e) / c.expected, 1.0, 1e-9) << "r=" << c.r << " v=" << c.v;
  }
}

TEST(Binomial, PvalueEdgeCases) {
  EXPECT_EQ(pvalue(0, 0, 3.0), 1.0);
  EXPECT_EQ(pvalue(100, 0, 3.0), 1.0);
  EXPECT_EQ(pvalue(200, 150, 3.0), 1.0);  // capped; scipy also gives exactly 1
  // Saturation: with v = r the tail is q^r.
  // q^762: the rounding of q (u64) is amplified 762 times, ≲ 2e-13 relative of 2.2e-4, ≲ 5e-17.
  EXPECT_NEAR(pvalue(762, 762, 4.5), std::pow(1.0 / (1.0 + std::exp(-4.5)), 762), 1e-15);
  // e so large that σ(e) rounds to 1: every guess is correct with probability 1.
  EXPECT_EQ(pvalue(50, 50, 60.0), 1.0);
  EXPECT_THROW(pvalue(10, 11, 1.0), std::invalid_argument);
  EXPECT_THROW(pvalue(-1, 0, 1.0), std::invalid_argument);
  EXPECT_THROW(pvalue(10, 5, std::nan("")), std::invalid_argument);
}

TEST(Binomial, PvalueIncreasesWithLevel) {
  double previous = 0;
  for (double e = 0; e <= 2.5; e += 0.25) {  // below saturation at 1
    const double p = pvalue(500, 450, e);
    EXPECT_GT(p, previous) << "e=" << e;
    previous = p;
  }
}

// Fixture values: the docs/method.md §1.6 formula evaluated with scipy 1.10.1's binom.sf /
// binom.pmf in Python.
TEST(Binomial, SteinkePvalueMatchesScipyFormula) {
  const struct {
    std::int64_t m, r, v;
    double eps, delta, expected;
  } cases[] = {
      {1000, 100, 90, 1.5, 1e-05, 0.018764588474672005},
      {1000, 100, 90, 1.6, 0.0001, 0.055963013040888035},
      {10000, 1000, 900, 2.0, 1e-06, 0.032233775436185684},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(pvalue_steinke(c.m, c.r, c.v, c.eps, c.delta) / c.expected, 1.0, 1e-9)
        << "m=" << c.m << " delta=" << c.delta;
  }
  // δ = 0 is the plain tail, and the δ term only ever adds.
  EXPECT_EQ(pvalue_steinke(1000, 100, 90, 1.5, 0.0), pvalue(100, 90, 1.5));
  EXPECT_GT(pvalue_steinke(1000, 100, 90, 1.5, 1e-5), pvalue(100, 90, 1.5));
  EXPECT_EQ(pvalue_steinke(1000, 100, 90, 1.5, 1.0), 1.0);  // capped
  EXPECT_THROW(pvalue_steinke(50, 100, 90, 1.5, 1e-5), std::invalid_argument);
  EXPECT_THROW(pvalue_steinke(1000, 100, 90, 1.5, -1e-5), std::invalid_argument);
}

TEST(Binomial, RelaxedPvalueHonoursGammaWhenDeltaIsZero) {
  const double plain = pvalue(100, 90, 1.6);
  // Ours: γ alone still adds Steinke's term, with slack 1 - (1 - γ)(1 - 0) = γ.
  EXPECT_EQ(pvalue_relaxed(1000, 100, 90, 1.6, 0.0, 1e-4),
            pvalue_steinke(1000, 100, 90, 1.6, 1e-4));
  EXPECT_GT(pvalue_relaxed(1000, 100, 90, 1.6, 0.0, 1e-4), plain);
  // The reference drops γ when δ = 0.
  EXPECT_EQ(pvalue_relaxed_reference(1000, 100, 90, 1.6, 0.0, 1e-4), plain);
  // With δ > 0 both agree, and γ = 0 reduces to Steinke exactly.
  EXPECT_EQ(pvalue_relaxed(1000, 100, 90, 1.6, 1e-5, 1e-4),
            pvalue_relaxed_reference(1000, 100, 90, 1.6, 1e-5, 1e-4));
  EXPECT_EQ(pvalue_relaxed(1000, 100, 90, 1.6, 1e-5, 0.0),
            pvalue_steinke(1000, 100, 90, 1.6, 1e-5));
  // Union of failure events: γ + δ - γδ = 1 - (1 - γ)(1 - δ). Both sides evaluate the slack with
  // the same float64 operations except γ·δ against the literal 1e-9 (≤ 1 ulp of 1e-9, ~2e-25),
  // which moves p (linear in the slack) far less than DOUBLE_EQ's 4 ulps of p ≈ 0.06.
  EXPECT_DOUBLE_EQ(pvalue_relaxed(1000, 100, 90, 1.6, 1e-5, 1e-4),
                   pvalue_steinke(1000, 100, 90, 1.6, 1e-4 + 1e-5 - 1e-9));
  EXPECT_THROW(pvalue_relaxed(1000, 100, 90, 1.6, 0.0, 1.5), std::invalid_argument);
}

// Fixture values from scipy 1.10.1: int(binom.isf(0.025, r, 1 / (1 + exp(-e)))).
TEST(Binomial, IsfMatchesScipy) {
  const struct {
    std::int64_t r;
    double e;
    std::int64_t expected;
  } cases[] = {{10, 0.0, 8},       {100, 1.0, 82},         {1000, 0.5, 652},
               {12345, 0.1, 6590}, {1000000, 0.3, 575412}, {1, 2.0, 1},
               {7, 5.0, 7},        {500, 0.0, 272},        {40, 20.0, 40}};
  for (const auto& c : cases) {
    EXPECT_EQ(binomial_isf(0.025, c.r, sigmoid(c.e)), c.expected) << "r=" << c.r << " e=" << c.e;
  }
}

TEST(Binomial, IsfIsTheSmallestKWithUpperTailAtMostTail) {
  for (const std::int64_t r : {1, 2, 5, 17, 100, 999}) {
    for (const double q : {0.05, 0.3, 0.5, 0.77, 0.99}) {
      const std::int64_t k = binomial_isf(0.025, r, q);
      EXPECT_LE(binomial_tail(r, k + 1, q), 0.025) << "r=" << r << " q=" << q;  // P[X > k]
      if (k > 0) {
        EXPECT_GT(binomial_tail(r, k, q), 0.025) << "r=" << r << " q=" << q;  // P[X > k-1]
      }
    }
  }
  EXPECT_EQ(binomial_isf(0.025, 0, 0.5), 0);
  EXPECT_EQ(binomial_isf(0.025, 30, 1.0), 30);
  EXPECT_EQ(binomial_isf(0.025, 30, 0.0), 0);
  EXPECT_THROW(binomial_isf(0.0, 30, 0.5), std::invalid_argument);
}

TEST(Binomial, MaxPrecisionIsTheUpperQuantileOverR) {
  EXPECT_DOUBLE_EQ(max_precision(100, 1.0), 0.82);
  EXPECT_DOUBLE_EQ(max_precision(10, 0.0), 0.8);
  EXPECT_TRUE(std::isnan(max_precision(0, 1.0)));
}

TEST(Binomial, SigmoidAndLogitAreInverse) {
  // logit(σ(e)) in float64: the rounding of σ (u64) becomes ≤ u64/(σ(1-σ)) ≤ 1e-14 for |e| ≤ 4.5.
  for (const double e : {-3.0, -0.5, 0.0, 0.7, 4.5}) EXPECT_NEAR(logit(sigmoid(e)), e, 1e-12);
  EXPECT_EQ(sigmoid(0.0), 0.5);
}

}  // namespace
}  // namespace panoramia::stats
