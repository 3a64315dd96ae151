// The raw scores of the reference-model and LLM attacks on tiny inputs whose values are worked out
// by hand (in the comments), and RMIA against a direct O(n·m) count written independently.
//
// Tolerances: the hand cases go through exp(-(-log p)) and log, each within a few ulps of the exact
// value (relative 1e-16 each), on values of order 1: 1e-12 is far above that and far below any
// wrong formula (which is off by at least 1e-2 here). Counts and exactly representable results are
// compared exactly.
#include <zlib.h>

#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "calibration.hpp"
#include "scores.hpp"

namespace panoramia::attacks {
namespace {

at::Tensor t(std::vector<double> v) {
  return torch::tensor(v, torch::kFloat64);
}
at::Tensor rows(std::vector<std::vector<double>> v) {
  std::vector<at::Tensor> r;
  for (auto& row : v) r.push_back(t(row));
  return torch::stack(r);
}
// The loss whose probability exp(-loss) is p.
at::Tensor loss_of(std::vector<double> p) {
  return -torch::log(t(p));
}
at::Tensor losses_of(std::vector<std::vector<double>> p) {
  return -torch::log(rows(p));
}

void expect_values(const at::Tensor& got, std::vector<double> want, double tolerance) {
  ASSERT_EQ(got.numel(), static_cast<std::int64_t>(want.size()));
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[static_cast<std::int64_t>(i)].item<double>(), want[i], tolerance)
        << "row " << i;
}

TEST(Scores, CalibratedLossSubtractsTheReferencesMeanLoss) {
  // Side losses 1 and 0.5; references (2, 0.5) and (1, 1.5): means 1.5 and 1.0;
  // -(1 - 1.5) = 0.5 and -(0.5 - 1) = 0.5 (all exact in binary).
  const auto s = calibrated_loss(t({1.0, 0.5}), rows({{2.0, 0.5}, {1.0, 1.5}}));
  EXPECT_EQ(s[0].item<double>(), 0.5);
  EXPECT_EQ(s[1].item<double>(), 0.5);
}

TEST(Scores, ReferenceRatioDividesByTheReferencesMeanLoss) {
  // 1 / mean(2, 2) = 0.5 and 0.5 / mean(1, 3) = 0.25, negated.
  const auto s = reference_ratio(t({1.0, 0.5}), rows({{2.0, 1.0}, {2.0, 3.0}}));
  EXPECT_EQ(s[0].item<double>(), -0.5);
  EXPECT_EQ(s[1].item<double>(), -0.25);
  EXPECT_THROW(reference_ratio(t({1.0}), rows({{0.0}})), std::invalid_argument);
}

TEST(Scores, RmiaCountsThePopulationSamplesItBeatsByGamma) {
  // a = 0: Pr(x) = (mean reference p + 1) / 2. Every reference p is 0.6, so Pr = 0.8 everywhere.
  // x: side p 0.8 and 0.2 -> ratios 1.0 and 0.25. z: side p 0.4, 0.8, 0.2 -> 0.5, 1.0, 0.25.
  // gamma 1: x0 beats 0.5 and 0.25 (not its equal 1.0): 2/3; x1 beats nothing: 0.
  const auto x = loss_of({0.8, 0.2});
  const auto x_refs = losses_of({{0.6, 0.6}});
  const auto z = loss_of({0.4, 0.8, 0.2});
  const auto z_refs = losses_of({{0.6, 0.6, 0.6}});
  const auto s = rmia_offline(x, x_refs, z, z_refs, 0.0, 1.0);
  EXPECT_EQ(s[0].item<double>(), 2.0 / 3);
  EXPECT_EQ(s[1].item<double>(), 0.0);
  // gamma 0.8: x0 needs r(z) < 1.25: all three; x1 needs r(z) < 0.3125: only 0.25, 1/3.
  const auto g = rmia_offline(x, x_refs, z, z_refs, 0.0, 0.8);
  EXPECT_EQ(g[0].item<double>(), 1.0);
  EXPECT_EQ(g[1].item<double>(), 1.0 / 3);
  // The offline marginal with a = 0.5: a z whose reference finds it unlikely (p 0.1) gets
  // Pr(z) = (1.5 * 0.1 + 0.5) / 2 = 0.325 and, at side p 0.3, r(z) = 0.923; the x's reference p
  // 0.6 gives Pr = 0.7, so r(x0) = 0.8 / 0.7 = 1.143 beats it and r(x1) = 0.2 / 0.7 = 0.286 does
  // not.
  const auto z2 = rmia_offline(x, x_refs, loss_of({0.3}), losses_of({{0.1}}), 0.5, 1.0);
  EXPECT_EQ(z2[0].item<double>(), 1.0);
  EXPECT_EQ(z2[1].item<double>(), 0.0);
  // a = 1 would let Pr(x) reach 0.
  EXPECT_THROW(rmia_offline(x, x_refs, z, z_refs, 1.0, 1.0), std::invalid_argument);
}

TEST(Scores, RmiaEqualsADirectCountOnRandomLosses) {
  // The definition, written out: the fraction of z with (p(x)/Pr(x)) / (p(z)/Pr(z)) > gamma.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.05, 4.0);
  const int n = 40, m = 60, k = 3;
  std::vector<double> xs(n), zs(m);
  std::vector<std::vector<double>> xr(k, std::vector<double>(n)), zr(k, std::vector<double>(m));
  for (auto& v : xs) v = u(rng);
  for (auto& v : zs) v = u(rng);
  for (auto& r : xr)
    for (auto& v : r) v = u(rng);
  for (auto& r : zr)
    for (auto& v : r) v = u(rng);
  const double a = 0.3, gamma = 2.0;
  const auto marginal = [&](const std::vector<std::vector<double>>& refs, int i) {
    double p = 0;
    for (int j = 0; j < k; ++j) p += std::exp(-refs[j][i]);
    return ((1 + a) * p / k + (1 - a)) / 2;
  };
  const auto s = rmia_offline(t(xs), rows(xr), t(zs), rows(zr), a, gamma);
  for (int i = 0; i < n; ++i) {
    int count = 0;
    const double rx = std::exp(-xs[i]) / marginal(xr, i);
    for (int j = 0; j < m; ++j)
      if (rx / (std::exp(-zs[j]) / marginal(zr, j)) > gamma) ++count;
    EXPECT_EQ(s[i].item<double>(), static_cast<double>(count) / m) << "sample " << i;
  }
}

TEST(Scores, LogitConfidenceIsTheLogOdds) {
  // p = 0.5 -> 0; p = 0.8 -> log 4; p = 0.2 -> -log 4.
  expect_values(logit_confidence(loss_of({0.5, 0.8, 0.2})), {0.0, std::log(4.0), -std::log(4.0)},
                1e-12);
  // A loss of 0 (p = 1) stays finite.
  EXPECT_TRUE(std::isfinite(logit_confidence(t({0.0}))[0].item<double>()));
}

TEST(Scores, LiraStandardisesTheSideValueByTheReferencesGaussian) {
  // L = log 4. x0's references p 0.2, 0.8: phi -L, L (mean 0, sd L); x1's p 0.5, 0.5: phi 0, 0.
  // Side p 0.8 (phi L) on both.
  const auto side = loss_of({0.8, 0.8});
  const auto refs = losses_of({{0.2, 0.5}, {0.8, 0.5}});
  // Per example: x0 (L - 0) / L = 1; x1 has sd 0 (+1e-30): a huge positive value.
  const auto per = lira_offline(side, refs, LiraVariance::kPerExample);
  EXPECT_NEAR(per[0].item<double>(), 1.0, 1e-12);
  EXPECT_GT(per[1].item<double>(), 1e20);
  // Global: sd of {-L, L, 0, 0} = L / sqrt 2, so both are L / (L / sqrt 2) = sqrt 2.
  expect_values(lira_offline(side, refs, LiraVariance::kGlobal), {std::sqrt(2.0), std::sqrt(2.0)},
                1e-12);
  // A per-example variance from one reference is refused.
  EXPECT_THROW(lira_offline(side, losses_of({{0.2, 0.5}}), LiraVariance::kPerExample),
               std::invalid_argument);
}

TEST(Scores, MinKProbAveragesTheLowestTokenLogProbabilities) {
  // Token losses 1, 4, 2, 3: k 0.5 keeps ceil(2) = 2 (4 and 3): -3.5; k 0.2 keeps ceil(0.8) = 1:
  // -4; k 1 keeps all: -2.5. Exact.
  const auto losses = rows({{1, 4, 2, 3}});
  EXPECT_EQ(min_k_prob(losses, 0.5)[0].item<double>(), -3.5);
  EXPECT_EQ(min_k_prob(losses, 0.2)[0].item<double>(), -4.0);
  EXPECT_EQ(min_k_prob(losses, 1.0)[0].item<double>(), -2.5);
  EXPECT_THROW(min_k_prob(at::Tensor(), 0.2), std::invalid_argument);
}

TEST(Scores, ZlibLengthsCompressTheTokensAsVarints) {
  // Token 300 is the varint bytes AC 02 and token 5 the byte 05: compressing those bytes directly
  // gives the expected sizes.
  const auto compressed = [](std::vector<unsigned char> bytes) {
    uLongf size = compressBound(static_cast<uLong>(bytes.size()));
    std::vector<unsigned char> out(size);
    EXPECT_EQ(compress2(out.data(), &size, bytes.data(), static_cast<uLong>(bytes.size()), 9),
              Z_OK);
    return static_cast<double>(size);
  };
  const auto tokens = torch::tensor({300, 5}, torch::kInt64).reshape({2, 1});
  const auto lengths = zlib_lengths(tokens);
  EXPECT_EQ(lengths[0].item<double>(), compressed({0xAC, 0x02}));
  EXPECT_EQ(lengths[1].item<double>(), compressed({0x05}));
  // A repetitive block compresses better than a varied one of the same length.
  auto repeated = torch::full({1, 256}, 17, torch::kInt64);
  auto varied = torch::arange(256, torch::kInt64).reshape({1, 256});
  EXPECT_LT(zlib_lengths(repeated)[0].item<double>(), zlib_lengths(varied)[0].item<double>());
  EXPECT_THROW(zlib_lengths(torch::zeros({1, 3})), std::invalid_argument);  // not token ids
  // The ratio: -2 / 4 and -1 / 4.
  const auto r = zlib_ratio(t({2.0, 1.0}), t({4.0, 4.0}));
  EXPECT_EQ(r[0].item<double>(), -0.5);
  EXPECT_EQ(r[1].item<double>(), -0.25);
}

TEST(Scores, MissingReferencesAreOneSentenceNamingTheAttack) {
  try {
    stack_reference_losses({}, 3, "rmia");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "rmia needs reference models: set [helper] count to 2 or more (helpers "
                 "2..count are the references)");
  }
  EXPECT_THROW(stack_reference_losses({t({1.0, 2.0})}, 3, "rmia"), std::invalid_argument);
}

TEST(Calibration, FitsTheMemberFractionOfEachLevelAndStaysMonotone) {
  // Two raw levels, 4 samples each: the maximum-likelihood logistic fit gives each level its
  // member fraction (3/4 and 1/4). The fit stops at |step| < 1e-12 and returns float32 (6e-8):
  // 1e-6.
  std::vector<double> raw, member;
  for (int i = 0; i < 4; ++i) {
    raw.push_back(1.0);
    member.push_back(i < 3 ? 1 : 0);
    raw.push_back(0.0);
    member.push_back(i < 1 ? 1 : 0);
  }
  MonotoneCalibration c;
  c.fit(t(raw), t(member), 0.0);
  const auto p = c(t({1.0, 0.0}));
  EXPECT_NEAR(p[0].item<double>(), 0.75, 1e-6);
  EXPECT_NEAR(p[1].item<double>(), 0.25, 1e-6);
  // Reversed (a higher raw score has fewer members): the slope stays 0, every score 1/2.
  for (auto& m : member) m = 1 - m;
  c.fit(t(raw), t(member), 0.0);
  EXPECT_EQ(c.slope(), 0.0);
  const auto q = c(t({1.0, 0.0}));
  EXPECT_NEAR(q[0].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(q[1].item<double>(), 0.5, 1e-6);
}

TEST(Calibration, TheRankTransformInterpolatesTheTrainingScores) {
  // Training scores 0, 1, 10, 100 (n - 1 = 3 gaps): 5.5 is half-way between 1 and 10, at
  // (1 + 0.5) / 3 = 0.5; 10 is at 2/3; below the smallest 0, above the largest 1. Exact in binary
  // up to the division by 3 (1e-15).
  MonotoneCalibration c(MonotoneCalibration::Transform::kRank);
  c.fit(t({10, 0, 100, 1}), t({1, 0, 1, 0}), 0.0);
  expect_values(c.transform(t({5.5, 10, -3, 1000, 0})), {0.5, 2.0 / 3, 0.0, 1.0, 0.0}, 1e-15);
  // The probabilities keep the order of the raw scores.
  const auto p = c(t({-3, 0, 1, 5.5, 10, 100, 1000}));
  for (std::int64_t i = 1; i < p.size(0); ++i)
    EXPECT_GE(p[i].item<float>(), p[i - 1].item<float>()) << i;
  // The two-level fit of the identity transform holds on ranks too: each level's member fraction.
  std::vector<double> raw, member;
  for (int i = 0; i < 4; ++i) {
    raw.push_back(5.0);
    member.push_back(i < 3 ? 1 : 0);
    raw.push_back(-2.0);
    member.push_back(i < 1 ? 1 : 0);
  }
  c.fit(t(raw), t(member), 0.0);
  const auto q = c(t({5.0, -2.0}));
  EXPECT_NEAR(q[0].item<double>(), 0.75, 1e-6);
  EXPECT_NEAR(q[1].item<double>(), 0.25, 1e-6);
}

}  // namespace
}  // namespace panoramia::attacks
