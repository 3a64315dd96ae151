#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "ctgan.hpp"
#include "gmm.hpp"
#include "transformer.hpp"

namespace panoramia::tabular_gan {
namespace {

at::Generator seeded(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

// 0.3 N(-2, 0.5^2) + 0.7 N(3, 1).
torch::Tensor two_modes(int64_t n, uint64_t seed) {
  auto g = seeded(seed);
  const auto first = torch::rand({n}, g, torch::kFloat64) < 0.3;
  const auto z = torch::randn({n}, g, torch::kFloat64);
  return torch::where(first, -2.0 + 0.5 * z, 3.0 + z);
}

// A small table: age (integer, bimodal), income (continuous), color (3 categories), label.
Batch table(int64_t n, uint64_t seed) {
  auto g = seeded(seed);
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"age", ColumnKind::kContinuous, {}},
                     {"income", ColumnKind::kContinuous, {}},
                     {"color", ColumnKind::kCategorical, {"red", "green", "blue"}},
                     {"y", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 3;
  const auto color =
      torch::multinomial(torch::tensor({0.6, 0.3, 0.1}), n, true, g).to(torch::kFloat64);
  const auto young = torch::rand({n}, g, torch::kFloat64) < 0.5;
  const auto age = torch::where(young, 25.0 + 3 * torch::randn({n}, g, torch::kFloat64),
                                55.0 + 5 * torch::randn({n}, g, torch::kFloat64))
                       .round();
  const auto income = 1000.0 * torch::rand({n}, g, torch::kFloat64).pow(2);
  const auto y = (age > 40).to(torch::kFloat64);
  Batch b;
  b.x = torch::stack({age, income, color, y}, 1);
  b.y = y.to(torch::kInt64);
  b.modality = "tabular";
  b.schema = schema;
  return b;
}

TEST(Gmm, RecoversAKnownTwoComponentMixture) {
  const auto x = two_modes(6000, 1);
  GmmOptions o;
  o.components = 2;
  const auto g = fit_gmm(x, o);
  ASSERT_EQ(g.size(), 2);
  EXPECT_NEAR(g.means[0], -2.0, 0.05);
  EXPECT_NEAR(g.means[1], 3.0, 0.05);
  EXPECT_NEAR(g.stds[0], 0.5, 0.05);
  EXPECT_NEAR(g.stds[1], 1.0, 0.05);
  EXPECT_NEAR(g.weights[0], 0.3, 0.02);
  EXPECT_NEAR(g.weights[1], 0.7, 0.02);
}

TEST(Gmm, TenComponentsPruneAndKeepTheTwoModesMass) {
  const auto x = two_modes(6000, 2);
  const auto g = fit_gmm(x, GmmOptions{});  // 10 components, prune below 0.005
  ASSERT_GE(g.size(), 2);
  ASSERT_LE(g.size(), 10);
  double left = 0, left_mean = 0, total = 0;
  for (int k = 0; k < g.size(); ++k) {
    EXPECT_GE(g.weights[k], 0.005);
    total += g.weights[k];
    if (g.means[k] < 0.5) {
      left += g.weights[k];
      left_mean += g.weights[k] * g.means[k];
    }
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_NEAR(left, 0.3, 0.02);
  EXPECT_NEAR(left_mean / left, -2.0, 0.1);
  // The extra modes fit at least as well as the true number of them.
  GmmOptions two;
  two.components = 2;
  EXPECT_GE(g.log_likelihood(x), fit_gmm(x, two).log_likelihood(x) - 1e-3);
}

TEST(Gmm, PointMassStaysFinite) {
  auto x = torch::zeros({1000}, torch::kFloat64);
  x.slice(0, 0, 100) = 5000.0 + 100.0 * torch::randn({100}, seeded(3), torch::kFloat64);
  const auto g = fit_gmm(x, GmmOptions{});
  for (int k = 0; k < g.size(); ++k) {
    EXPECT_TRUE(std::isfinite(g.stds[k]));
    EXPECT_GT(g.stds[k], 0.0);
  }
  EXPECT_NEAR(g.means[0], 0.0, 1e-6);
  EXPECT_NEAR(g.weights[0], 0.9, 0.01);
}

TEST(Gmm, HeavyPointMassGetsItsOwnMode) {
  // As Adult's capital-loss: 96% zeros, the rest around 1900: every quantile is 0.
  auto x = torch::zeros({2000}, torch::kFloat64);
  x.slice(0, 0, 80) = 1900.0 + 200.0 * torch::randn({80}, seeded(4), torch::kFloat64);
  const auto g = fit_gmm(x, GmmOptions{});
  ASSERT_GE(g.size(), 2);
  EXPECT_NEAR(g.means[0], 0.0, 1e-6);
  EXPECT_NEAR(g.weights[0], 0.96, 0.005);
  EXPECT_LT(g.stds[0], 1e-3);  // decoding the mode gives 0 back, not 0 +- a few units
  double tail = 0, tail_mean = 0;
  for (int k = 1; k < g.size(); ++k) {
    tail += g.weights[k];
    tail_mean += g.weights[k] * g.means[k];
  }
  EXPECT_NEAR(tail_mean / tail, 1900.0, 60.0);
}

TEST(Transformer, EncodeDecodeRoundTrip) {
  const Batch b = table(1000, 4);
  DataTransformer t;
  t.fit(b, GmmOptions{});
  auto gen = seeded(5);
  const auto encoded = t.transform(b, gen);
  ASSERT_EQ(encoded.size(1), t.output_dim());
  EXPECT_LE(encoded.abs().max().item<float>(), 1.0f);
  EXPECT_EQ(t.cond_dim(), 5);
  ASSERT_EQ(t.discrete().size(), 2u);
  const auto decoded = t.inverse(encoded);
  // Categorical columns and the integer column come back exactly; the continuous one up to float
  // precision, except the rare value whose drawn mode is so far that its scalar was clipped.
  EXPECT_TRUE(torch::equal(decoded.slice(1, 2, 4), b.x.slice(1, 2, 4)));
  const auto age_ok = (decoded.select(1, 0) == b.x.select(1, 0)).to(torch::kFloat64).mean();
  EXPECT_GE(age_ok.item<double>(), 0.995);
  const auto income_err = (decoded.select(1, 1) - b.x.select(1, 1)).abs();
  EXPECT_GE((income_err < 1e-3).to(torch::kFloat64).mean().item<double>(), 0.995);
}

CtganOptions small_options() {
  CtganOptions o;
  o.embedding_dim = 16;
  o.generator_dim = {32, 32};
  o.discriminator_dim = {32, 32};
  o.batch_size = 50;
  o.pac = 10;
  o.epochs = 1;
  return o;
}

TEST(Ctgan, OneTrainingStepChangesParametersWithFiniteLosses) {
  Ctgan gan(small_options());
  auto gen = seeded(6);
  gan.prepare(table(300, 7), gen);
  std::vector<torch::Tensor> g_before, d_before;
  for (const auto& p : gan.generator_net()->parameters()) g_before.push_back(p.detach().clone());
  for (const auto& p : gan.discriminator_net()->parameters())
    d_before.push_back(p.detach().clone());
  const auto losses = gan.step(gen);
  EXPECT_TRUE(std::isfinite(losses.discriminator));
  EXPECT_TRUE(std::isfinite(losses.generator));
  EXPECT_TRUE(std::isfinite(losses.penalty));
  EXPECT_GT(losses.condition, 0.0);
  const auto g_after = gan.generator_net()->parameters();
  const auto d_after = gan.discriminator_net()->parameters();
  for (size_t i = 0; i < g_before.size(); ++i)
    EXPECT_FALSE(torch::equal(g_before[i], g_after[i])) << "generator parameter " << i;
  for (size_t i = 0; i < d_before.size(); ++i)
    EXPECT_FALSE(torch::equal(d_before[i], d_after[i])) << "discriminator parameter " << i;
}

TEST(Ctgan, BatchMustBeAMultipleOfPac) {
  CtganOptions o = small_options();
  o.batch_size = 55;
  EXPECT_THROW(Ctgan{o}, std::invalid_argument);
}

TEST(Ctgan, TrainsSamplesInRangeReproduciblyAndLearnsTheMarginal) {
  const Batch train = table(600, 8);
  CtganOptions o = small_options();
  o.epochs = 40;
  auto run = [&](uint64_t seed) {
    testing::TestContext ctx({}, {}, seed);
    Ctgan gan(o);
    gan.fit(train, ctx);
    return gan.sample(2000, ctx.generator());
  };
  const auto rows = run(9);
  ASSERT_EQ(rows.sizes(), (std::vector<int64_t>{2000, 4}));
  EXPECT_TRUE(torch::equal(rows, run(9)));
  const auto age = rows.select(1, 0);
  EXPECT_GE(age.min().item<double>(), train.x.select(1, 0).min().item<double>());
  EXPECT_LE(age.max().item<double>(), train.x.select(1, 0).max().item<double>());
  EXPECT_TRUE(torch::equal(age, age.round()));
  // Conditions follow the training frequencies, so the colour marginal is close to the data's.
  const auto real =
      torch::bincount(train.x.select(1, 2).to(torch::kInt64), {}, 3).to(torch::kFloat64);
  const auto fake = torch::bincount(rows.select(1, 2).to(torch::kInt64), {}, 3).to(torch::kFloat64);
  const double tvd = 0.5 * (real / real.sum() - fake / fake.sum()).abs().sum().item<double>();
  EXPECT_LT(tvd, 0.1);
}

TEST(Ctgan, SaveLoadGivesTheSameSamples) {
  testing::TestContext ctx({}, {}, 10);
  CtganOptions o = small_options();
  o.epochs = 2;
  Ctgan gan(o);
  gan.fit(table(200, 11), ctx);
  torch::serialize::OutputArchive out;
  gan.save(out);
  const auto file = ctx.work_dir() / "ctgan.pt";
  out.save_to(file.string());
  torch::serialize::InputArchive in;
  in.load_from(file.string());
  Ctgan loaded(CtganOptions{});  // shapes come from the file
  auto g1 = seeded(12);
  loaded.load(in, g1);
  auto a = seeded(13), b = seeded(13);
  EXPECT_TRUE(torch::equal(gan.sample(300, a), loaded.sample(300, b)));
}

}  // namespace
}  // namespace panoramia::tabular_gan
