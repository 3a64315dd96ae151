// The `gaussian` plugin through the entry point the host calls (its source is compiled into this
// test): the reader's vectors, the generator's fitted moments, save/load, and the errors.
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>
#include <panoramia/testing.hpp>

extern "C" panoramia::PluginFactory* panoramia_plugin_factory();

namespace panoramia::testing {
namespace {

using ::testing::HasSubstr;

Batch read(const std::map<std::string, std::string>& options, std::uint64_t seed) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kDatasetReader), options, seed);
  return factory.make_dataset_reader(ctx)->read(ctx);
}

TEST(GaussianReader, DrawsLabelledVectorsFromTheSeed) {
  const auto b = read({{"samples", "300"}, {"dim", "4"}, {"classes", "3"}}, 5);
  EXPECT_EQ(b.modality, "vector");
  EXPECT_EQ(b.x.sizes(), (std::vector<std::int64_t>{300, 4}));
  EXPECT_EQ(b.y.sizes(), (std::vector<std::int64_t>{300}));
  EXPECT_GE(b.y.min().item<std::int64_t>(), 0);
  EXPECT_LE(b.y.max().item<std::int64_t>(), 2);
  const auto again = read({{"samples", "300"}, {"dim", "4"}, {"classes", "3"}}, 5);
  EXPECT_TRUE(torch::equal(b.x, again.x) && torch::equal(b.y, again.y));
  const auto other = read({{"samples", "300"}, {"dim", "4"}, {"classes", "3"}}, 6);
  EXPECT_FALSE(torch::equal(b.x, other.x));
}

TEST(GaussianReader, ThePreviewIsATableOfTheFirstCoordinatesAndTheLabel) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kDatasetReader), {}, 1);
  const auto reader = factory.make_dataset_reader(ctx);
  auto x = torch::zeros({10, 12}, torch::kFloat32);
  x[0][0] = 1.23456f;
  x[0][7] = -2.0f;
  x[0][8] = 99.0f;  // beyond the 8 shown coordinates
  const Batch b{x, torch::arange(10, torch::kInt64) % 3, "vector", nullptr};
  const Preview p = reader->preview(b, ctx);
  EXPECT_EQ(p.columns,
            (std::vector<std::string>{"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "label"}));
  ASSERT_EQ(p.rows.size(), kPreviewSamples);
  EXPECT_EQ(p.rows[0],
            (std::vector<std::string>{"1.235", "0", "0", "0", "0", "0", "0", "-2", "0"}));
  EXPECT_EQ(p.rows[7].back(), "1");  // 7 % 3
  EXPECT_TRUE(p.png.empty() && p.texts.empty());
}

TEST(GaussianGenerator, SamplesWithTheTrainingMomentsAndSurvivesSaveAndLoad) {
  auto& factory = *panoramia_plugin_factory();
  // One class, mean (3, -2), independent unit-variance coordinates, 4000 rows.
  TestContext data({}, {}, 1);
  Batch train;
  train.x =
      torch::randn({4000, 2}, data.generator(), torch::kFloat32) + torch::tensor({3.0F, -2.0F});
  train.y = torch::zeros({4000}, torch::kInt64);
  train.modality = "vector";
  TestContext ctx(factory.options(kGenerator), {{"covariance", "diagonal"}, {"shrinkage", "0"}}, 3);
  auto generator = factory.make_generator(ctx);
  EXPECT_THAT(message_of([&] { generator->sample(1, ctx); }), HasSubstr("before fit"));
  generator->fit(train, ctx);
  const auto drawn = generator->sample(20000, ctx);
  EXPECT_EQ(drawn.modality, "vector");
  ASSERT_EQ(drawn.x.sizes(), (std::vector<std::int64_t>{20000, 2}));
  // Sample mean of 20,000 draws of a unit-variance (fitted: 1 +- 0.03) coordinate: sd 1/sqrt(2e4)
  // = 0.0071, plus the fitted mean's own error sd 1/sqrt(4000) = 0.016; 0.1 is > 5 sd of both.
  const auto mean = drawn.x.to(torch::kFloat64).mean(0);
  EXPECT_NEAR(mean[0].item<double>(), 3.0, 0.1);
  EXPECT_NEAR(mean[1].item<double>(), -2.0, 0.1);
  // Sample variance: fitted variance 1 +- 0.022 (sd sqrt(2/4000)), sampled +- 0.01; 0.15 > 5 sd.
  const auto var = drawn.x.to(torch::kFloat64).var(0);
  EXPECT_NEAR(var[0].item<double>(), 1.0, 0.15);
  EXPECT_NEAR(var[1].item<double>(), 1.0, 0.15);

  generator->save(ctx.work_dir(), ctx);
  TestContext first(factory.options(kGenerator), {}, 9), second(factory.options(kGenerator), {}, 9);
  auto loaded = factory.make_generator(first);
  loaded->load(ctx.work_dir(), first);
  auto original_draws = factory.make_generator(second);
  original_draws->load(ctx.work_dir(), second);
  EXPECT_TRUE(torch::equal(loaded->sample(50, first).x, original_draws->sample(50, second).x));
  TestContext missing(factory.options(kGenerator));
  EXPECT_THAT(message_of([&] { loaded->load(missing.work_dir(), missing); }),
              HasSubstr((missing.work_dir() / "gaussian.pt").string()));
}

}  // namespace
}  // namespace panoramia::testing
