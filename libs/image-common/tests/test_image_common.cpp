#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>
#include <panoramia/testing.hpp>

#include "augment.hpp"
#include "image_batch.hpp"
#include "model_state.hpp"
#include "normalization.hpp"
#include "optimizer.hpp"
#include "random.hpp"

namespace panoramia::image {
namespace {

using ::testing::HasSubstr;

OptionValues normalization_values(const std::string& preset, const std::string& mean = "",
                                  const std::string& std = "") {
  return OptionValues(normalization_options(),
                      {{"normalization", preset}, {"mean", mean}, {"std", std}});
}

TEST(Normalization, AutoPicksThePresetByChannelCount) {
  const auto gray = normalization_from_options(normalization_values("auto"), 1);
  EXPECT_EQ(gray.name, "fashion-mnist");
  const auto color = normalization_from_options(normalization_values("auto"), 3);
  EXPECT_EQ(color.name, "cifar10");
  const auto x = torch::full({2, 3, 4, 4}, 0.4914f);
  // Float32 (x - mean) / std against the float64 formula: two roundings of the operands and two of
  // the operations, ≤ 4·u·(|x| + |mean|)/std ≈ 1e-6 for std 0.2; 1e-5 leaves 10x, another
  // channel's mean or std is off by ≥ 0.01 (x - mean is exactly 0 in the first channel).
  EXPECT_NEAR(color.apply(x)[1][0][2][2].item<float>(), 0.0f, 1e-6);
  EXPECT_NEAR(color.apply(x)[1][2][2][2].item<float>(), (0.4914 - 0.4465) / 0.2010, 1e-5);
}

TEST(Normalization, CustomAndMismatches) {
  const auto n = normalization_from_options(normalization_values("custom", "0.5", "0.25"), 3);
  EXPECT_EQ(n.mean.size(), 3u);  // one value spreads over the channels
  // (1 - 0.5) / 0.25 = 2 is exact in float32 (dyadic operands); 1e-6 only allows a rounding.
  EXPECT_NEAR(n.apply(torch::ones({1, 3, 2, 2}))[0][1][0][0].item<float>(), 2.0f, 1e-6);
  try {
    normalization_from_options(normalization_values("cifar10"), 1);
    FAIL() << "a 3-channel preset accepted 1-channel images";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("has 3 values but the images have 1 channels"));
  }
  const auto none = normalization_from_options(normalization_values("none"), 1);
  const auto x = torch::rand({1, 1, 2, 2});
  EXPECT_TRUE(torch::equal(none.apply(x), x));
}

TEST(Augment, SameSeedSameResultAndCropsShiftContent) {
  const auto x = torch::rand({8, 1, 6, 6});
  testing::TestContext a({}, {}, 3), b({}, {}, 3);
  const AugmentOptions options{true, 2};
  const auto xa = augment(x, options, a.generator());
  const auto xb = augment(x, options, b.generator());
  EXPECT_TRUE(torch::equal(xa, xb));
  EXPECT_EQ(xa.sizes(), x.sizes());
  EXPECT_FALSE(torch::equal(xa, x));
  // Every output pixel is either 0 (padding) or one of the image's pixels.
  for (int i = 0; i < 8; ++i) {
    const auto values = x[i].flatten();
    for (const float v : std::vector<float>(xa[i].data_ptr<float>(), xa[i].data_ptr<float>() + 36))
      EXPECT_TRUE(v == 0.0f || values.eq(v).any().item<bool>());
  }
}

TEST(Augment, FlipOnlyMirrorsOrKeeps) {
  const auto x = torch::rand({16, 3, 4, 5});
  testing::TestContext ctx({}, {}, 7);
  const auto out = augment(x, AugmentOptions{true, 0}, ctx.generator());
  int flipped = 0;
  for (int i = 0; i < 16; ++i) {
    const bool same = torch::equal(out[i], x[i]);
    const bool mirrored = torch::equal(out[i], x[i].flip({2}));
    EXPECT_TRUE(same || mirrored);
    flipped += mirrored;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
}

TEST(Optimizer, Schedules) {
  OptimizerRecipe r;
  r.lr = 0.1;
  r.milestones = {2, 4};
  r.gamma = 0.5;
  EXPECT_DOUBLE_EQ(r.lr_at(1, 6), 0.1);
  EXPECT_DOUBLE_EQ(r.lr_at(2, 6), 0.05);
  EXPECT_DOUBLE_EQ(r.lr_at(5, 6), 0.025);
  r.schedule = "cosine";
  EXPECT_DOUBLE_EQ(r.lr_at(0, 10), 0.1);
  EXPECT_NEAR(r.lr_at(5, 10), 0.05, 1e-12);
  r.schedule = "constant";
  r.warmup_epochs = 2;
  EXPECT_NEAR(r.lr_at(0, 10), 0.01, 1e-12);
  EXPECT_NEAR(r.lr_at(1, 10), 0.055, 1e-12);
  EXPECT_DOUBLE_EQ(r.lr_at(2, 10), 0.1);
}

TEST(ModelState, ArchiveRoundTripAndMismatch) {
  torch::nn::Sequential a(torch::nn::Linear(3, 4), torch::nn::BatchNorm1d(4));
  testing::TestContext ctx({}, {}, 7);
  default_init(*a, ctx.generator());
  const auto state = copy_state(*a);
  torch::serialize::OutputArchive out;
  write_state(out, "best_", state);
  const auto file = ctx.work_dir() / "state.pt";
  out.save_to(file.string());

  torch::nn::Sequential b(torch::nn::Linear(3, 4), torch::nn::BatchNorm1d(4));
  torch::serialize::InputArchive in;
  in.load_from(file.string());
  restore_state(*b, read_state(in, "best_", *b));
  const auto x = torch::rand({5, 3});
  a->eval();
  b->eval();
  // The same weights (restored bit for bit) and the same kernels: equal up to allclose's default
  // rtol 1e-5 (a wrong or missing BatchNorm buffer shifts outputs by ~0.1).
  EXPECT_TRUE(torch::allclose(a->forward(x), b->forward(x)));

  torch::nn::Sequential c(torch::nn::Linear(3, 5));
  EXPECT_THROW(restore_state(*c, state), std::runtime_error);
}

TEST(Random, SeededInitAndDropoutAreReproducible) {
  testing::TestContext a({}, {}, 11), b({}, {}, 11);
  torch::nn::Conv2d ca(torch::nn::Conv2dOptions(2, 3, 3)), cb(torch::nn::Conv2dOptions(2, 3, 3));
  default_init(*ca, a.generator());
  default_init(*cb, b.generator());
  EXPECT_TRUE(torch::equal(ca->weight, cb->weight));
  EXPECT_LE(ca->weight.abs().max().item<float>(), 1.0 / std::sqrt(18.0));
  const auto x = torch::ones({1000});
  DropoutScope sa(&a.generator());
  const auto da = scoped_dropout(x, 0.25, true);
  const double kept = da.ne(0).sum().item<double>() / 1000.0;
  EXPECT_NEAR(kept, 0.75, 0.05);  // binomial: sd √(0.75·0.25/1000) = 0.014, so 3.6 sd
  // 1 / (1 - 0.25) in float32: one rounding of 4/3 (u·4/3 ≈ 8e-8); 1e-5 is 125x that.
  EXPECT_NEAR(da.max().item<float>(), 1.0 / 0.75, 1e-5);
  EXPECT_TRUE(torch::equal(scoped_dropout(x, 0.25, false), x));
}

TEST(ImageBatch, Checks) {
  Batch b;
  b.x = torch::rand({2, 8});
  EXPECT_THROW(check_image_batch(b, "x", false), std::invalid_argument);
  b.x = torch::rand({2, 1, 4, 4});
  EXPECT_NO_THROW(check_image_batch(b, "x", false));
  EXPECT_THROW(check_image_batch(b, "x", true), std::invalid_argument);
  b.y = torch::zeros({2}, torch::kInt64);
  EXPECT_NO_THROW(check_image_batch(b, "x", true));
}

}  // namespace
}  // namespace panoramia::image

#include <fstream>

#include "png_grid.hpp"

namespace panoramia::image {
namespace {

TEST(PngGrid, WritesAReadableGrid) {
  testing::TestContext ctx({}, {}, 7);
  const auto images = torch::rand({5, 3, 4, 6});
  const auto file = ctx.work_dir() / "grid.png";
  write_png_grid(file, images, 3);
  const auto grid = read_png(file);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{3, 2 * 5 + 1, 3 * 7 + 1}));
  // Image 4 sits in row 1, column 1; pixels are 8-bit rounded.
  const auto tile = grid.narrow(1, 6, 4).narrow(2, 8, 6);
  // 8-bit rounding: half a level (0.5/255), plus the float32 rounding of x·255 and of level/255
  // (≤ 2·u·255/255 ≈ 1.2e-7 ≪ 1e-6); a pixel from the wrong tile is off by ~0.3 on average.
  EXPECT_LE((tile - images[4]).abs().max().item<float>(), 0.5f / 255 + 1e-6);
  EXPECT_EQ(grid[0][0][0].item<float>(), 0.0f);  // border
  EXPECT_THROW(write_png_grid(ctx.work_dir() / "no" / "such.png", images, 2), std::runtime_error);
}

TEST(PngGrid, ThePreviewIsTheFirstEightImagesInOneRow) {
  testing::TestContext ctx({}, {}, 7);
  const auto images = torch::rand({11, 1, 5, 4});
  const Preview preview = image_preview(Batch{images, {}, "image", nullptr});
  ASSERT_FALSE(preview.png.empty());
  EXPECT_TRUE(preview.columns.empty() && preview.rows.empty() && preview.texts.empty());
  // The bytes are a PNG file that libpng reads back: grey, one row of 8 tiles of 4x5.
  const auto file = ctx.work_dir() / "preview.png";
  std::ofstream(file, std::ios::binary) << preview.png;
  const auto grid = read_png(file);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{1, 5 + 2, 8 * 5 + 1}));
  // Tile 7 (the last shown) is image 7; same 8-bit rounding bound as above.
  const auto tile = grid.narrow(1, 1, 5).narrow(2, 7 * 5 + 1, 4);
  EXPECT_LE((tile - images[7]).abs().max().item<float>(), 0.5f / 255 + 1e-6);
  // Samples that are not images give no preview.
  EXPECT_TRUE(image_preview(Batch{torch::rand({3, 4}), {}, "vector", nullptr}).empty());
}

}  // namespace
}  // namespace panoramia::image
