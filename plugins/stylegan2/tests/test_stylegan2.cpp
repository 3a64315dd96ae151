#include <iostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "model_state.hpp"
#include "networks.hpp"
#include "presets.hpp"
#include "stylegan2.hpp"

namespace panoramia::stylegan2 {
namespace {

NetworkOptions small_network(std::int64_t channels, std::int64_t resolution) {
  NetworkOptions o;
  o.z_dim = 16;
  o.w_dim = 16;
  o.classes = 3;
  o.d_mapping_layers = 2;
  o.channels = channels;
  o.resolution = resolution;
  o.channel_base = 128;
  o.channel_max = 16;
  o.mbstd_group = 2;
  o.resnet_discriminator = true;
  return o;
}

TEST(Layers, FirResamplingKeepsConstantImagesConstant) {
  const auto x = torch::full({1, 2, 4, 4}, 0.5f);
  const auto up = upsample2x(x);
  ASSERT_EQ(up.sizes(), (std::vector<int64_t>{1, 2, 8, 8}));
  // Away from the zero-padded border the upsampled image keeps the value: taps k/8 and 0.5 are
  // dyadic, so every partial sum is exact in float32 (1e-6 only allows for ~17 roundings of 0.5).
  EXPECT_NEAR(up.slice(2, 2, 6).slice(3, 2, 6).min().item<float>(), 0.5f, 1e-6);
  EXPECT_NEAR(up.slice(2, 2, 6).slice(3, 2, 6).max().item<float>(), 0.5f, 1e-6);
  const auto b = blur(x);
  EXPECT_EQ(b.sizes(), x.sizes());
  EXPECT_NEAR(b[0][1][2][2].item<float>(), 0.5f, 1e-6);  // the only pixel clear of padding
}

// The 2-D FIR of the reference: zero insertion (for upsampling), 2+1 pixels of zero padding and
// the normalised outer product of [1,3,3,1] times `gain`, as a depthwise convolution.
torch::Tensor reference_fir(const torch::Tensor& x, bool up) {
  auto input = x;
  if (up) {
    const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    auto z = torch::zeros({n, c, h, 2, w, 2});
    z.select(5, 0).select(3, 0).copy_(x);
    input = z.view({n, c, 2 * h, 2 * w});
  }
  const auto f = torch::tensor({1.0f, 3.0f, 3.0f, 1.0f});
  auto k = torch::outer(f, f);
  k = (k / k.sum() * (up ? 4.0 : 1.0)).view({1, 1, 4, 4}).expand({x.size(1), 1, 4, 4});
  const std::int64_t one[] = {1, 1}, zero[] = {0, 0};
  return torch::conv2d(torch::constant_pad_nd(input, {2, 1, 2, 1}, 0.0), k, at::Tensor(), one, zero,
                       one, x.size(1));
}

// Float32, the same 16 products summed as 4 + 4 (separable) or 16 taps at once: elementwise
// |Δ| ≤ 2·γ·u·Σ|k·x| with γ = 16 + 2 (the taps k/Σk and the gain are dyadic, exact); Σ|k·x| is the
// reference FIR of |x|. A wrong tap, phase or padding changes outputs by ~0.1 of |x|.
TEST(Layers, SeparableResamplingEqualsTheTwoDimensionalFir) {
  const auto x = torch::randn({2, 3, 5, 6});
  for (const bool up : {true, false}) {
    const auto got = up ? upsample2x(x) : blur(x);
    const auto diff = (got - reference_fir(x, up)).abs().to(torch::kFloat64);
    const auto bound = 2 * (16 + 2) * 0x1p-24 * reference_fir(x.abs(), up).to(torch::kFloat64);
    EXPECT_TRUE((diff <= bound).all().item<bool>())
        << "up " << up << ": " << diff.max().item<double>();
    std::cout << (up ? "upsample2x" : "blur") << ": max |separable - 2-D FIR| "
              << diff.max().item<double>() << " (bound " << bound.max().item<double>() << ")\n";
  }
}

TEST(Layers, MinibatchStddevAppendsTheGroupStd) {
  const auto x = torch::tensor({1.0f, 3.0f, 5.0f, 9.0f}).view({4, 1, 1, 1});
  const auto y = minibatch_stddev(x, 2);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{4, 2, 1, 1}));
  // Groups interleave: samples {0,2} and {1,3}; population std of (1,5) is 2, of (3,9) is 3 (exact
  // in float32 up to the 1e-8 under the square root and a few roundings, ≲ 1e-6; a wrong grouping
  // gives 1 or more).
  EXPECT_NEAR(y[0][1][0][0].item<float>(), 2.0f, 1e-4);
  EXPECT_NEAR(y[2][1][0][0].item<float>(), 2.0f, 1e-4);
  EXPECT_NEAR(y[1][1][0][0].item<float>(), 3.0f, 1e-4);
}

TEST(Ada, ResamplingMatchesGridSampleWithReflection) {
  const auto x = torch::rand({2, 3, 5, 7});
  auto theta =
      torch::tensor({{0.8f, -0.5f, 0.3f}, {0.4f, 0.9f, -0.2f}}).unsqueeze(0).repeat({2, 1, 1});
  theta[1] = torch::tensor({{-1.0f, 0.0f, 0.25f}, {0.0f, 1.3f, 0.1f}});
  const auto grid = torch::affine_grid_generator(theta, x.sizes(), false);
  const auto expected = torch::grid_sampler(x, grid, 0, 2, false);
  AdaptiveAugment ada;
  // Float32 bilinear taps of x in [0, 1): 4 weights summing to 1 from coordinates of ~10
  // roundings on a 7-pixel axis, so |Δ| ≤ 2·(4 + 10·7)·u ≈ 9e-6, inside atol 1e-5 (+ rtol 1e-5);
  // a wrong reflection or half-pixel convention moves samples by ~0.1.
  EXPECT_TRUE(torch::allclose(resample_for_tests(x, grid), expected, 1e-5, 1e-5))
      << (resample_for_tests(x, grid) - expected).abs().max().item<double>();
}

TEST(Ada, IdentityAtZeroDifferentiableAndAdaptive) {
  testing::TestContext ctx({}, {}, 7);
  AdaptiveAugment ada(0.6, 1.0);  // p moves by 1 per 1000 images
  const auto x = torch::rand({6, 3, 8, 8}) * 2 - 1;
  EXPECT_TRUE(torch::equal(ada.apply(x, ctx.generator()), x));
  ada.set_p(1.0);
  const auto input = x.clone().requires_grad_(true);
  const auto y = ada.apply(input, ctx.generator());
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_FALSE(torch::allclose(y, x));
  // Twice differentiable, as the R1 penalty through the augmentation needs.
  const auto grad = torch::autograd::grad({y.square().sum()}, {input}, {}, true, true)[0];
  grad.sum().backward();
  EXPECT_TRUE(input.grad().defined());
  // D confidently right on the reals (all signs +1 > 0.6): p rises by images / 1000.
  ada.set_p(0.1);
  ada.observe(torch::ones({8}));
  ada.adjust(100);
  EXPECT_NEAR(ada.p(), 0.2, 1e-12);
  ada.observe(-torch::ones({8}));
  ada.adjust(500);
  EXPECT_NEAR(ada.p(), 0.0, 1e-12);  // clamped
}

TEST(Networks, ForwardBackwardShapes) {
  testing::TestContext ctx({}, {}, 7);
  for (const auto& [channels, resolution] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
    const auto o = small_network(channels, resolution);
    EXPECT_EQ(o.base_resolution(), resolution == 28 ? 7 : 4);
    GeneratorNet g(o);
    Discriminator d(o);
    g->reset_parameters(ctx.generator());
    reset_all(*d, ctx.generator());
    const auto z = torch::randn({4, 16});
    const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
    const auto img = g->forward(z, labels, NoiseMode::kRandom, &ctx.generator());
    ASSERT_EQ(img.sizes(), (std::vector<int64_t>{4, channels, resolution, resolution}));
    const auto logits = d->forward(img, labels);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{4}));
    logits.sum().backward();
    for (const auto& p : g->named_parameters()) {
      if (p.key().find("mapping.w_avg") != std::string::npos) continue;
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
    }
    for (const auto& p : d->named_parameters()) ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

// Data-parallel shards: a forward of rows [2, 5) of a global batch of 6 draws the noise and the
// augmentation parameters of all 6 rows (leaving the generator where the whole batch leaves it)
// and computes exactly those rows.
TEST(Networks, AShardDrawsTheGlobalBatchsNoiseAndAugmentation) {
  testing::TestContext ctx({}, {}, 7);
  GeneratorNet g(small_network(1, 16));
  g->reset_parameters(ctx.generator());
  {
    torch::NoGradGuard guard;
    for (auto& p : g->named_parameters())
      if (p.key().find("noise_strength") != std::string::npos) p.value().fill_(0.5);
  }
  AdaptiveAugment ada;
  ada.set_p(0.7);
  const auto z = torch::randn({6, 16}, ctx.generator());
  const auto labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  auto& gen = ctx.generator();
  const auto start = gen.get_state();
  const auto whole = ada.apply(g->forward(z, labels, NoiseMode::kRandom, &gen), gen);
  const auto end = gen.get_state();
  gen.set_state(start);
  const Shard shard{2, 6, nullptr};
  const auto part = ada.apply(
      g->forward(z.slice(0, 2, 5), labels.slice(0, 2, 5), NoiseMode::kRandom, &gen, 1.0, shard),
      gen, shard);
  EXPECT_TRUE(torch::equal(gen.get_state(), end));
  ASSERT_EQ(part.sizes(), (std::vector<int64_t>{3, 1, 16, 16}));
  // Float32, another batch size (possibly other kernels and blocking), the same arithmetic per row:
  // ≤ 2·γ·u·scale with γ ≈ 2000 roundings along a path (mapping layers, modulated 3x3 convolutions
  // of 16 channels and their demodulation sums, upsampling, to-RGB) and a scale Σ|terms|/|result|
  // ≲ 10: 2.4e-3 of (1 + max|image|). Rows given their own noise (below) differ by ~0.1 or more.
  const double shard_tol = 2 * 2000 * 0x1p-24 * 10 * (1 + whole.abs().max().item<double>());
  const double shard_diff = (part - whole.slice(0, 2, 5)).abs().max().item<double>();
  EXPECT_LE(shard_diff, shard_tol);
  std::cout << "max |shard - whole batch| " << shard_diff << " (tolerance " << shard_tol << ")\n";
  // Without the shard the three rows would get other noise.
  gen.set_state(start);
  const auto own = g->forward(z.slice(0, 2, 5), labels.slice(0, 2, 5), NoiseMode::kRandom, &gen);
  gen.set_state(start);
  EXPECT_GT((own - g->forward(z, labels, NoiseMode::kRandom, &gen).slice(0, 2, 5))
                .abs()
                .max()
                .item<double>(),
            shard_tol);
}

TEST(Networks, CifarPresetMatchesTheReferenceShape) {
  auto p = preset("cifar");
  p.network.channels = 3;
  p.network.classes = 10;
  EXPECT_EQ(p.network.base_resolution(), 4);
  EXPECT_EQ(p.network.channels_at(32), 512);
  EXPECT_EQ(p.network.mapping_layers, 2);
  EXPECT_EQ(p.training.batch_size, 64);
  EXPECT_DOUBLE_EQ(p.training.r1_gamma, 0.01);
  EXPECT_DOUBLE_EQ(p.training.beta2, 0.99);
  GeneratorNet g(p.network);
  // The reference's layout: mapping (label embedding + 2 layers of 512) about 0.8M, the 4x4 block
  // 2.9M, three 512-map blocks of 5.5M each: about 20.2M in all.
  EXPECT_NEAR(double(image::count_parameters(*g)) / 1e6, 20.2, 0.3);
}

/// Three classes of 16x16 images: a bright square in a class-dependent corner, on noise.
Batch toy_set(std::int64_t n, std::uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  Batch b;
  b.x = torch::rand({n, 1, 16, 16}, g) * 0.2;
  b.y = torch::arange(n, torch::kInt64) % 3;
  for (std::int64_t i = 0; i < n; ++i) {
    const int64_t c = b.y[i].item<int64_t>();
    b.x[i].narrow(1, c * 5, 6).narrow(2, c * 5, 6).fill_(0.9);
  }
  b.modality = "image";
  return b;
}

std::map<std::string, std::string> tiny_options(const std::string& kimg) {
  return {{"kimg", kimg},       {"batch_size", "8"},     {"z_dim", "16"},
          {"w_dim", "16"},      {"channel_base", "128"}, {"channel_max", "16"},
          {"mbstd_group", "4"}, {"grid_per_class", "4"}};
}

TEST(StyleGan2, OneTrainingStepLowersTheDiscriminatorLoss) {
  testing::TestContext ctx(stylegan2_options(), tiny_options("1"), 7);
  const auto data = toy_set(8, 1);
  StyleGan2 gan;
  gan.initialize(configure(ctx.options(), 1, 16, 3), 1, 16, 3, ctx);
  // D's loss on the same reals and the same fakes, before and after the step.
  const auto labels = torch::tensor({0, 1, 2, 0, 1, 2, 0, 1}, torch::kInt64);
  const auto fakes = gan.synthesize(torch::randn({8, 16}, ctx.generator()), labels, ctx);
  const double before = gan.discriminator_loss(data.x, data.y, fakes, labels, ctx);
  const auto losses = gan.train_step(data.x, data.y, ctx);
  const double after = gan.discriminator_loss(data.x, data.y, fakes, labels, ctx);
  EXPECT_LT(after, before);
  EXPECT_NEAR(losses.d_loss, before, 0.5);  // the step's own loss is of the same order
  EXPECT_GT(losses.r1, 0.0);                // the first step is an R1 step
  EXPECT_EQ(gan.images_seen(), 8);
}

TEST(StyleGan2, SamplesAreLabelledQuantizedImagesOfTheDataShape) {
  for (const std::string layout : {"native", "pad"}) {
    auto options = tiny_options("0.016");
    options["layout"] = layout;
    testing::TestContext ctx(stylegan2_options(), options, 7);
    auto data = toy_set(12, 2);
    data.x = torch::constant_pad_nd(data.x, {6, 6, 6, 6}, 0.0);  // 28x28
    StyleGan2 gan;
    gan.fit(data, ctx);
    const auto s = gan.sample(30, ctx);
    ASSERT_EQ(s.x.sizes(), (std::vector<int64_t>{30, 1, 28, 28}));
    EXPECT_EQ(s.modality, "image");
    EXPECT_TRUE(torch::equal(torch::bincount(s.y), torch::full({3}, 10, torch::kInt64)));
    EXPECT_GE(s.x.min().item<float>(), 0.0f);
    EXPECT_LE(s.x.max().item<float>(), 1.0f);
    const auto levels = s.x * 255.0;
    EXPECT_LT((levels - levels.round()).abs().max().item<float>(), 1e-3);
    EXPECT_TRUE(std::filesystem::exists(ctx.work_dir() / "samples.png"));
  }
}

TEST(StyleGan2, CheckpointRoundTripGivesTheSameSamples) {
  testing::TestContext ctx(stylegan2_options(), tiny_options("0.024"), 7);
  StyleGan2 gan;
  gan.fit(toy_set(12, 3), ctx);
  const auto dir = ctx.work_dir() / "saved";
  std::filesystem::create_directories(dir);
  gan.save(dir, ctx);
  StyleGan2 loaded;
  loaded.load(dir, ctx);
  testing::TestContext s1(stylegan2_options(), tiny_options("0.024"), 5);
  testing::TestContext s2(stylegan2_options(), tiny_options("0.024"), 5);
  const auto a = gan.sample(9, s1), b = loaded.sample(9, s2);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.y, b.y));
  EXPECT_EQ(loaded.images_seen(), gan.images_seen());
}

TEST(StyleGan2, ResumingFromASnapshotEqualsAnUninterruptedRun) {
  const auto data = toy_set(12, 4);
  // ADA pushed up at every adjustment, so its probability is part of what must resume.
  auto shorter = tiny_options("0.032");
  shorter["ada_target"] = "-1";
  shorter["ada_kimg"] = "0.1";
  testing::TestContext interrupted(stylegan2_options(), shorter, 3);
  StyleGan2 first;
  first.fit(data, interrupted);  // 4 steps, snapshot in the work directory
  auto longer = shorter;
  longer["kimg"] = "0.064";
  testing::TestContext& same_dir = interrupted;
  StyleGan2 resumed;
  // The options are read from the context; a longer run in the same work directory resumes.
  testing::TestContext resumed_ctx(stylegan2_options(), longer, 3);
  std::filesystem::copy(same_dir.work_dir() / "snapshot", resumed_ctx.work_dir() / "snapshot");
  resumed.fit(data, resumed_ctx);
  EXPECT_EQ(resumed.images_seen(), 64);
  EXPECT_GT(resumed.augment_probability(), 0.5);

  testing::TestContext straight_ctx(stylegan2_options(), longer, 3);
  StyleGan2 straight;
  straight.fit(data, straight_ctx);
  EXPECT_TRUE(torch::equal(resumed.sample(6, resumed_ctx).x, straight.sample(6, straight_ctx).x));
}

}  // namespace
}  // namespace panoramia::stylegan2

namespace panoramia::stylegan2 {
namespace {

TEST(StyleGan2, TrainsWithFullAugmentationThroughTheR1Step) {
  auto options = tiny_options("0.144");  // 18 steps of 8: R1 at steps 0 and 16
  options["ada_target"] = "-1";          // p rises at every adjustment...
  options["ada_kimg"] = "0.01";          // ...to 1 after the first
  testing::TestContext ctx(stylegan2_options(), options, 7);
  StyleGan2 gan;
  gan.fit(toy_set(12, 5), ctx);
  EXPECT_DOUBLE_EQ(gan.augment_probability(), 1.0);
  EXPECT_EQ(gan.images_seen(), 144);
}

}  // namespace
}  // namespace panoramia::stylegan2
