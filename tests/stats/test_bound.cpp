// The bound search against the reference test vectors of docs/method.md §1.7.
#include "stats/bound.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "stats/binomial.hpp"

namespace panoramia::stats {
namespace {

struct Vector {
  std::int64_t m, r, v;
  double level, expected;
};

// docs/method.md §1.7, computed by the reference algorithm (scipy binomial, 30 bisections).
// Tolerances below: the vectors are printed to 6 decimals (±5e-7) of a search on a 2^-30 ≈ 9e-10
// grid, so 1e-6 is their own resolution; the exact search and the reference one differ by at most
// one grid step (2^-30) plus the float64 p-value's rounding (≲ 1e-12 in ε), far inside 1e-6, while
// a wrong p-value formula (δ or γ dropped, r - 1 for r) moves the bound by ≥ 1e-3.
const Vector kReferenceVectors[] = {
    {10000, 100, 100, 0.05, 3.492965},
    {10000, 100, 90, 0.05, 1.630823},
    {10000, 1000, 900, 0.05, 2.021233},
    {10000, 1000, 900, 2.5e-4, 1.841107},
    {10000, 5000, 4000, 2.5e-4, 1.263987},
    {10000, 762, 762, 2.5e-4, 4.514961},
    {10000, 5000, 5000, 2.5e-4, 6.400825},
    {10000, 50, 30, 0.05, 0.0},
    {10000, 0, 0, 0.05, 0.0},
    {10000, 1000, 500, 0.05, 0.0},
};

TEST(Bound, ReferenceSearchReproducesTheTestVectors) {
  for (const Vector& t : kReferenceVectors) {
    EXPECT_NEAR(lower_bound({t.m, t.r, t.v, t.level}), t.expected, 1e-6)
        << "r=" << t.r << " v=" << t.v << " level=" << t.level;
  }
}

TEST(Bound, ExactSearchAgreesWithReferenceSearch) {
  for (const Vector& t : kReferenceVectors) {
    const BoundQuery query{t.m, t.r, t.v, t.level};
    const double exact = lower_bound(query, BoundSearch::kExact);
    const double reference = lower_bound(query, BoundSearch::kReference);
    EXPECT_NEAR(exact, t.expected, 1e-6) << "r=" << t.r << " v=" << t.v;
    EXPECT_NEAR(exact, reference, 1e-6) << "r=" << t.r << " v=" << t.v;
    // The reference returns the lower end of its last bracket: never above the supremum.
    EXPECT_LE(reference, exact + 1e-12) << "r=" << t.r << " v=" << t.v;
  }
}

TEST(Bound, ExactAndReferenceSearchAgreeOnAGrid) {
  for (const double level : {0.05, 2.5e-4, 1e-9}) {
    for (const std::int64_t r : {1, 7, 60, 999, 20000, 1000000}) {
      for (const double precision : {0.3, 0.55, 0.8, 0.97, 1.0}) {
        const auto v = static_cast<std::int64_t>(std::floor(precision * static_cast<double>(r)));
        const BoundQuery query{0, r, v, level};
        const double exact = lower_bound(query, BoundSearch::kExact);
        const double reference = lower_bound(query, BoundSearch::kReference);
        EXPECT_NEAR(exact, reference, 1e-6) << "r=" << r << " v=" << v << " level=" << level;
        EXPECT_LE(reference, exact + 1e-12) << "r=" << r << " v=" << v << " level=" << level;
      }
    }
  }
}

TEST(Bound, ExactBoundSitsOnTheLevel) {
  // At the supremum the p-value equals the level; just below it is rejected, just above it is not.
  const double e = lower_bound({10000, 1000, 900, 2.5e-4}, BoundSearch::kExact);
  // The root is solved to float64 precision; p at it is within the root's tolerance times
  // p'(ε)/p (≲ 1e3 here) of the level: ≲ 1e-12 relative, 1e-9 leaves 1000x.
  EXPECT_NEAR(pvalue(1000, 900, e) / 2.5e-4, 1.0, 1e-9);
  EXPECT_LT(pvalue(1000, 900, e - 1e-6), 2.5e-4);
  EXPECT_GE(pvalue(1000, 900, e + 1e-6), 2.5e-4);
}

TEST(Bound, SaturationFormula) {
  // With v = r the p-value is q^r, so LB = logit(level^(1/r)) exactly.
  for (const std::int64_t r : {762, 5000}) {
    const double formula = logit(std::pow(2.5e-4, 1.0 / static_cast<double>(r)));
    // Exact search: float64 root vs closed form, both ≲ 1e-12 from the truth (1e-9: 1000x); the
    // reference search sits on the 2^-30 grid below it (1e-6 as above).
    EXPECT_NEAR(lower_bound({10000, r, r, 2.5e-4}, BoundSearch::kExact), formula, 1e-9) << r;
    EXPECT_NEAR(lower_bound({10000, r, r, 2.5e-4}), formula, 1e-6) << r;
  }
  // The rounded values quoted in docs/method.md §1.5 (4 decimals: ±5e-5).
  EXPECT_NEAR(logit(std::pow(2.5e-4, 1.0 / 762)), 4.5150, 5e-5);
  EXPECT_NEAR(logit(std::pow(2.5e-4, 1.0 / 5000)), 6.4008, 5e-5);
}

TEST(Bound, SteinkeDeltaVector) {
  const BoundQuery query{1000, 100, 90, 0.05, 1e-5};
  EXPECT_NEAR(lower_bound(query), 1.626143, 1e-6);
  EXPECT_NEAR(lower_bound(query, BoundSearch::kExact), 1.626143, 1e-6);
}

TEST(Bound, RelaxationVector) {
  const BoundQuery query{1000, 100, 90, 0.05, 1e-5, 1e-4};
  EXPECT_NEAR(lower_bound(query), 1.575085, 1e-6);
  EXPECT_NEAR(lower_bound(query, BoundSearch::kExact), 1.575085, 1e-6);
}

TEST(Bound, GammaWithZeroDeltaIsHonouredUnlikeTheReference) {
  const auto reference = [](double e) {
    return pvalue_relaxed_reference(1000, 100, 90, e, 0.0, 1e-4);
  };
  const double buggy = reference_search(reference, 0.05);
  EXPECT_NEAR(buggy, 1.630823, 1e-6);  // docs/method.md §1.7: γ ignored, the δ = γ = 0 value

  const double ours = lower_bound({1000, 100, 90, 0.05, 0.0, 1e-4});
  EXPECT_NE(ours, buggy);
  EXPECT_LT(ours, buggy - 0.01);  // γ is a slack, so honouring it must lower the bound
  // The docs/method.md §3.9 formula with slack γ, evaluated with scipy 1.10.1 in Python and 30
  // bisections.
  EXPECT_NEAR(ours, 1.580560, 1e-6);
  EXPECT_NEAR(lower_bound({1000, 100, 90, 0.05, 0.0, 1e-4}, BoundSearch::kExact), ours, 1e-6);
}

TEST(Bound, ReferenceSearchDoesExactly30Bisections) {
  // p(e) < level exactly for e < 0.3: the integer bracket is [0, 1], so 30 halvings leave lo on the
  // 2^-30 grid just below 0.3.
  int calls = 0;
  const double lo = reference_search(
      [&](double e) {
        ++calls;
        return e < 0.3 ? 0.0 : 1.0;
      },
      0.5);
  EXPECT_EQ(calls, 31);  // one bracket check at hi = 1, then 30 bisections
  EXPECT_EQ(lo, std::floor(0.3 * 1073741824.0) / 1073741824.0);
}

TEST(Bound, ExactSearchFindsTheRootOfAGenericPvalue) {
  const double root = exact_search([](double e) { return e / 10.0; }, 0.37);
  EXPECT_NEAR(root, 3.7, 1e-11);  // a linear p: the float64 root is within a few ulps of 3.7
  EXPECT_EQ(exact_search([](double) { return 0.9; }, 0.5), 0.0);
  EXPECT_THROW(reference_search([](double) { return 0.0; }, 0.5), std::domain_error);
}

TEST(Bound, MayOmitMOnlyWithoutDeltaOrGamma) {
  EXPECT_NEAR(lower_bound({0, 100, 90, 0.05}), 1.630823, 1e-6);
  EXPECT_THROW(lower_bound({0, 100, 90, 0.05, 1e-5}), std::invalid_argument);
  EXPECT_THROW(lower_bound({0, 100, 90, 0.05, 0.0, 1e-4}), std::invalid_argument);
}

TEST(Bound, RejectsInvalidQueriesWithAClearSentence) {
  const auto message = [](const BoundQuery& query) {
    try {
      lower_bound(query);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message({100, 10, 11, 0.05}).find("0 <= v <= r"), std::string::npos);
  EXPECT_NE(message({100, 10, -1, 0.05}).find("0 <= v <= r"), std::string::npos);
  EXPECT_NE(message({50, 100, 90, 0.05}).find("exceed the m=50 audit slots"), std::string::npos);
  EXPECT_NE(message({100, 10, 5, 0.0}).find("strictly between 0 and 1"), std::string::npos);
  EXPECT_NE(message({100, 10, 5, 1.0}).find("strictly between 0 and 1"), std::string::npos);
  EXPECT_NE(message({100, 10, 5, std::nan("")}).find("strictly between 0 and 1"),
            std::string::npos);
  EXPECT_NE(message({100, 10, 5, 0.05, 2.0}).find("delta and gamma"), std::string::npos);
}

}  // namespace
}  // namespace panoramia::stats
