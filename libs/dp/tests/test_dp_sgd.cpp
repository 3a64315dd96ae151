// DP-SGD mechanics: Poisson sampling rate, noise scale, accounting, BatchNorm rejection.
#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dp/dp_sgd.hpp"

namespace panoramia::dp {
namespace {

TEST(PoissonSample, IncludesEachExampleWithTheSamplingRate) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(21);
  const int64_t n = 1000, draws = 2000;
  const double q = 0.1;
  auto counts = torch::zeros({n}, torch::kFloat64);
  std::vector<double> sizes;
  double neighbours = 0;  // batches' pairs (i, i + 1), both chosen
  for (int64_t d = 0; d < draws; ++d) {
    const auto idx = poisson_sample(n, q, g);
    sizes.push_back(double(idx.size(0)));
    if (idx.size(0) > 1) {  // ascending and distinct
      ASSERT_TRUE((idx.slice(0, 1) > idx.slice(0, 0, -1)).all().item<bool>());
    }
    counts.index_add_(0, idx, torch::ones({idx.size(0)}, torch::kFloat64));
    if (idx.size(0) > 1)
      neighbours += (idx.slice(0, 1) - idx.slice(0, 0, -1) == 1).sum().item<double>();
  }
  const auto s = torch::tensor(sizes, torch::kFloat64);
  // Batch size ~ Binomial(1000, 0.1): mean 100 (standard error 0.21), variance 90.
  EXPECT_NEAR(s.mean().item<double>(), n * q, 1.0);
  EXPECT_NEAR(s.var().item<double>(), n * q * (1 - q), 9.0);
  // Per-example inclusion frequency: 0.1 with standard deviation 0.0067; 5.5 sd over 1000 indices.
  const auto freq = counts / double(draws);
  EXPECT_NEAR(freq.mean().item<double>(), q, 0.002);
  EXPECT_LT((freq - q).abs().max().item<double>(), 0.037);
  // Independence of neighbours: each of the 999 pairs is chosen with q² = 0.01, 19,980 expected
  // over the draws; a count of pairs (each a Bernoulli(0.01), neighbouring pairs sharing an index:
  // variance below 3·19,980) has sd below 245, so 1,200 is 4.9 sd. Inclusions tied or repelled by
  // one gap of the sampler would move it by q·19,980 or more.
  EXPECT_NEAR(neighbours, draws * (n - 1) * q * q, 1200.0);
  // Long ranges: the sampler's draws continue past its first batch of uniforms.
  auto g3 = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto many = poisson_sample(200000, 0.5, g3);
  // Binomial(200000, 0.5): mean 100,000, sd 224 (5 sd allowed).
  EXPECT_NEAR(double(many.size(0)), 100000.0, 1120.0);
  EXPECT_EQ(
      std::set<int64_t>(many.data_ptr<int64_t>(), many.data_ptr<int64_t>() + many.size(0)).size(),
      size_t(many.size(0)));
  EXPECT_LT(many.max().item<int64_t>(), 200000);
  EXPECT_GE(many.min().item<int64_t>(), 0);
  // Same seed, same batches.
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(4);
  auto g2 = at::make_generator<at::CPUGeneratorImpl>(4);
  EXPECT_TRUE(torch::equal(poisson_sample(n, q, g1), poisson_sample(n, q, g2)));
  EXPECT_EQ(poisson_sample(n, 0.0, g1).size(0), 0);
  EXPECT_EQ(poisson_sample(n, 1.0, g1).size(0), n);
  EXPECT_THROW(poisson_sample(n, 1.5, g1), std::invalid_argument);
}

TEST(DpSgd, NoiseHasStandardDeviationSigmaCOverTheExpectedBatch) {
  auto w = torch::zeros({200, 500}, torch::requires_grad());
  auto b = torch::zeros({7}, torch::requires_grad());
  DpSgdOptions o;
  o.noise_multiplier = 2.0;
  o.clip_norm = 0.5;
  o.dataset_size = 1000;
  o.expected_batch = 50;
  DpSgd dp({w, b}, o);
  EXPECT_DOUBLE_EQ(dp.sample_rate(), 0.05);
  EXPECT_EQ(dp.steps_per_epoch(), 20);
  auto g = at::make_generator<at::CPUGeneratorImpl>(8);
  ClippedGradients clipped;
  clipped.sum = {torch::zeros({200, 500}), torch::full({7}, 3.0)};
  dp.privatize(clipped, g);
  const double expected_std = 2.0 * 0.5 / 50.0;  // 0.02
  const auto gw = w.grad().to(torch::kFloat64);
  // Statistical, for a fixed seed (rounding is ~1e-7 of these): 1e5 draws give the mean an sd of
  // σ/√1e5 (4 sd allowed), the sample std an sd of σ/√(2·1e5) = 0.0022σ (0.01σ is 4.5 sd), the
  // kurtosis an sd of √(24/1e5) = 0.015 (0.1 is 6.5 sd); noise of another σ (C or the batch
  // forgotten) is off by a factor ≥ 2.
  EXPECT_NEAR(gw.mean().item<double>(), 0.0, 4 * expected_std / std::sqrt(1e5));
  EXPECT_NEAR(gw.std().item<double>(), expected_std, 0.01 * expected_std);
  // Kurtosis of a Gaussian is 3.
  const double kurt = (gw / gw.std()).pow(4).mean().item<double>();
  EXPECT_NEAR(kurt, 3.0, 0.1);
  // The clipped sum is averaged over the expected batch: mean 3/50 (7 noisy elements: sd σ/√7 =
  // 0.0076, 4σ = 0.08 is 10 sd; 3/1 or 3/7 instead of 3/50 would be off by ≥ 0.37).
  EXPECT_NEAR(b.grad().mean().item<double>(), 3.0 / 50.0, 4 * expected_std);
  EXPECT_EQ(dp.accountant().steps(), 1);
  EXPECT_DOUBLE_EQ(dp.spent(1e-5).epsilon, dp_sgd_epsilon(0.05, 2.0, 1, 1e-5).epsilon);

  // Without noise the gradient is exactly the clipped sum over the expected batch.
  o.noise_multiplier = 0.0;
  DpSgd exact({w, b}, o);
  exact.privatize(clipped, g);
  // 3 / 50 in float32 either way: one rounding (allclose's rtol 1e-5 is 1e2 times it).
  EXPECT_TRUE(torch::allclose(b.grad(), torch::full({7}, 3.0 / 50.0)));
  EXPECT_EQ(exact.spent(1e-5).epsilon, std::numeric_limits<double>::infinity());
  EXPECT_THROW(exact.privatize(ClippedGradients{{torch::zeros({7})}, {}, {}}, g),
               std::invalid_argument);
}

TEST(DpSgd, SameSeedSameNoise) {
  DpSgdOptions o;
  o.dataset_size = 100;
  o.expected_batch = 10;
  auto run = [&](uint64_t seed) {
    auto w = torch::zeros({5}, torch::requires_grad());
    DpSgd dp({w}, o);
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
    dp.privatize(ClippedGradients{{torch::zeros({5})}, {}, {}}, g);
    return w.grad().clone();
  };
  EXPECT_TRUE(torch::equal(run(3), run(3)));
  EXPECT_FALSE(torch::equal(run(3), run(4)));
}

// The noise is drawn in float32 unless every parameter is float64, but a float64 parameter's
// gradient is still formed in float64: without noise, one division of the sum, exactly as double
// arithmetic rounds it (a float32 intermediate would round 1/3 to 24 bits).
TEST(DpSgd, Float64ParametersKeepTheirPrecision) {
  auto w = torch::zeros({3}, torch::dtype(torch::kFloat64).requires_grad(true));
  auto b = torch::zeros({2}, torch::requires_grad());
  DpSgdOptions o;
  o.noise_multiplier = 0.0;
  o.dataset_size = 1000;
  o.expected_batch = 50;
  DpSgd dp({w, b}, o);
  auto g = at::make_generator<at::CPUGeneratorImpl>(1);
  dp.privatize(
      ClippedGradients{
          {torch::full({3}, 1.0 / 3.0, torch::kFloat64), torch::full({2}, 1.0 / 3.0)}, {}, {}},
      g);
  EXPECT_EQ(w.grad().scalar_type(), torch::kFloat64);
  EXPECT_EQ(w.grad()[0].item<double>(), (1.0 / 3.0) / 50.0);
  EXPECT_EQ(b.grad().scalar_type(), torch::kFloat32);
}

TEST(DpSgd, RejectsBadOptions) {
  auto w = torch::zeros({5}, torch::requires_grad());
  DpSgdOptions o;
  o.dataset_size = 100;
  o.expected_batch = 0;
  EXPECT_THROW(DpSgd({w}, o), std::invalid_argument);
  o.expected_batch = 101;
  EXPECT_THROW(DpSgd({w}, o), std::invalid_argument);
  o.expected_batch = 10;
  o.clip_norm = 0;
  EXPECT_THROW(DpSgd({w}, o), std::invalid_argument);
  EXPECT_THROW(make_optimizer("rmsprop", {w}, 0.1), std::invalid_argument);
  EXPECT_NE(make_optimizer("adam", {w}, 0.1), nullptr);
  EXPECT_NE(make_optimizer("sgd", {w}, 0.1), nullptr);
}

TEST(RejectBatchNorm, NamesTheSubmodule) {
  torch::nn::Sequential ok(torch::nn::Linear(4, 4), torch::nn::GroupNorm(2, 4));
  EXPECT_NO_THROW(reject_batch_norm(*ok, "the test model"));
  torch::nn::Module bad, inner;
  bad.register_module("fc", torch::nn::Linear(4, 4));
  inner.register_module("relu", torch::nn::ReLU());
  inner.register_module("bn", torch::nn::BatchNorm1d(4));
  bad.register_module("inner", std::make_shared<torch::nn::Module>(std::move(inner)));
  try {
    reject_batch_norm(bad, "the test model");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the test model"), std::string::npos) << what;
    EXPECT_NE(what.find("'inner.bn'"), std::string::npos) << what;
    EXPECT_NE(what.find("BatchNorm"), std::string::npos) << what;
    EXPECT_NE(what.find("GroupNorm"), std::string::npos) << what;
  }
  torch::nn::BatchNorm2d root(3);
  EXPECT_THROW(reject_batch_norm(*root, "x"), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::dp
