// The vit target under DP-SGD: LayerNorm kept, the accountant's epsilon reported and kept with the
// checkpoint, loop clipping giving the update of a brute-force per-example computation, frozen
// backbones left untouched, vectorised clipping refused, a toy task learned.
#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include <dp/rdp.hpp>
#include <dp/report_checks.hpp>

#include <panoramia/testing.hpp>

#include "vision_transformer.hpp"
#include "vit_target.hpp"

namespace panoramia::vit {
namespace {

// Two classes: a bright horizontal or vertical band on noise.
Batch bands(std::int64_t n, std::uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  Batch b;
  b.y = torch::randint(0, 2, {n}, g, torch::kInt64);
  b.x = torch::rand({n, 1, 16, 16}, g) * 0.3;
  for (std::int64_t i = 0; i < n; ++i) b.x[i].narrow(b.y[i].item<int64_t>() + 1, 4, 4).add_(0.6);
  b.modality = "image";
  return b;
}

std::map<std::string, std::string> dp_training(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> o = {
      {"preset", "tiny"},   {"patch", "4"},           {"width", "32"},
      {"depth", "2"},       {"heads", "4"},           {"epochs", "8"},
      {"batch_size", "64"}, {"optimizer", "sgd"},     {"momentum", "0.9"},
      {"lr", "0.5"},        {"schedule", "constant"}, {"weight_decay", "0"},
      {"flip", "false"},    {"crop_padding", "0"},    {"dp", "true"},
      {"clip_norm", "1.0"}, {"target_epsilon", "8"}};
  for (auto& [k, v] : extra) o[k] = v;
  return o;
}

TEST(VitDp, TrainsAndReportsTheSpentEpsilon) {
  testing::TestContext ctx(vit_options(), dp_training(), 3);
  VitTarget target;
  const auto train = bands(256, 1), validation = bands(128, 2);
  target.fit(train, validation, ctx);
  ASSERT_TRUE(target.dp_report().has_value());
  const auto& r = *target.dp_report();
  EXPECT_LE(r.epsilon, 8.0);
  EXPECT_GT(r.epsilon, 7.99);  // the noise is solved tightly for the target
  dp::testing::expect_accounted(r, 8 * 4, 64.0 / 256.0, 1e-5);  // ceil(256 / 64) batches an epoch
  EXPECT_EQ(r.norm, "layer");
  EXPECT_EQ(r.clipping, "loop");

  const auto held_out = target.side_signals(validation, "best", ctx);
  EXPECT_GT(image::accuracy(held_out.logits, validation.y), 0.8);

  target.save(ctx.work_dir(), ctx);
  const auto json = dp::testing::expect_dp_json(ctx.work_dir(), r);
  EXPECT_EQ(json.at("normalization_layers").get<std::string>(), "layer");
  VitTarget loaded;
  loaded.load(ctx.work_dir(), ctx);
  ASSERT_TRUE(loaded.dp_report().has_value());
  EXPECT_DOUBLE_EQ(loaded.dp_report()->epsilon, r.epsilon);
  EXPECT_EQ(loaded.dp_report()->steps, r.steps);
  EXPECT_TRUE(torch::equal(held_out.loss, loaded.side_signals(validation, "best", ctx).loss));

  // Without dp there is no report, and none is left from an earlier DP fit.
  testing::TestContext plain(vit_options(), dp_training({{"dp", "false"}, {"epochs", "1"}}), 7);
  target.fit(train, validation, plain);
  EXPECT_FALSE(target.dp_report().has_value());
}

TEST(VitDp, VectorisedClippingIsRefusedInOneSentence) {
  testing::TestContext ctx(vit_options(), dp_training({{"dp_clipping", "vectorized"}}), 7);
  VitTarget target;
  try {
    target.fit(bands(16, 3), Batch{}, ctx);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("set dp_clipping = loop"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("vit"));
  }
}

// Two DP-SGD steps (the head starts at zero, so the backbone moves from the second) with every
// example sampled (batch_size = n, so q = 1) and no noise: each updates θ by
// -lr · Σ_i min(1, C/(‖g_i‖ + 1e-6)) g_i / n with g_i from a backward pass on example i alone.
void expect_steps_match_brute_force(std::map<std::string, std::string> extra) {
  const std::int64_t n = 12, steps = 2;
  const double lr = 1.0, clip = 0.5;
  auto options = dp_training({{"epochs", std::to_string(steps)},
                              {"batch_size", std::to_string(n)},
                              {"momentum", "0"},
                              {"lr", "1"},
                              {"target_epsilon", "0"},
                              {"noise_multiplier", "0"},
                              {"clip_norm", "0.5"}});
  for (auto& [k, v] : extra) options[k] = v;
  const auto train = bands(n, 4);
  testing::TestContext ctx(vit_options(), options, 11);
  VitTarget target;
  target.fit(train, Batch{}, ctx);
  EXPECT_EQ(target.dp_report()->steps, steps);

  // The same initial network: the fit's first draws from a generator with the same seed.
  testing::TestContext fresh(vit_options(), options, 11);
  VisionTransformer net(vit_options_from(fresh.options(), 1, 16, 2, /*pretrained_channels=*/1));
  net->reset_parameters(fresh.generator());
  net->train();
  const auto initial = image::copy_state(*net);
  const bool frozen = options.count("freeze_backbone") && options["freeze_backbone"] == "true";
  std::vector<torch::Tensor> params;
  for (auto& p : net->named_parameters())
    if (!frozen || p.key().rfind("heads.", 0) == 0) params.push_back(p.value());
  const auto x = image::normalization_from_options(fresh.options(), 1).apply(train.x);
  std::int64_t clipped = 0;
  for (std::int64_t s = 0; s < steps; ++s) {
    std::vector<torch::Tensor> sum;
    for (const auto& p : params) sum.push_back(torch::zeros_like(p));
    for (std::int64_t i = 0; i < n; ++i) {
      const auto loss = torch::nn::functional::cross_entropy(net->forward(x.slice(0, i, i + 1)),
                                                             train.y.slice(0, i, i + 1));
      const auto grads = torch::autograd::grad({loss}, params);
      double sq = 0;
      for (const auto& g : grads) sq += g.to(torch::kFloat64).pow(2).sum().item<double>();
      const double factor = std::min(1.0, clip / (std::sqrt(sq) + 1e-6));
      clipped += factor < 1.0;
      for (size_t k = 0; k < params.size(); ++k) sum[k] += factor * grads[k];
    }
    torch::NoGradGuard guard;
    for (size_t k = 0; k < params.size(); ++k) params[k].sub_(lr * sum[k] / double(n));
  }
  EXPECT_GT(clipped, 0);  // the clipping norm binds for some examples
  const auto trained = target.network()->named_parameters();
  std::size_t moved = 0;
  double worst = 0;
  const std::map<std::string, torch::Tensor> before(initial.begin(), initial.end());
  for (auto& p : net->named_parameters()) {
    const auto& got = trained[p.key()];
    const auto& start = before.at(p.key());
    if (frozen && p.key().rfind("heads.", 0) != 0) {
      EXPECT_TRUE(torch::equal(got, start)) << p.key();
      continue;
    }
    // Compared on the update, so that a tiny update cannot pass by rounding. Float32 both: the
    // clipped sums over 12 examples and the per-example gradients (dot products of ≤ 64 terms
    // through ~10 layers, γ ≲ 1e3 roundings) differ by ≤ 2·γ·u ≈ 1e-4 of their scale in the worst
    // case and ~√γ·u ≈ 2e-6 in practice; 1e-3 of the largest update leaves 10x the worst case
    // (+ 1e-7 for a near-zero one), while a clipping bug changes updates by ≥ 1e-2 of them.
    const auto& expected = p.value();
    const double update = (expected - start).abs().max().item<double>();
    const double diff = (got - expected).abs().max().item<double>();
    EXPECT_LE(diff, 1e-3 * update + 1e-7) << p.key();
    worst = std::max(worst, diff / (1e-3 * update + 1e-7));
    if (update > 1e-5) ++moved;
  }
  EXPECT_EQ(moved, params.size());  // every trainable tensor took a visible step
  std::cout << "largest |fit - brute force| / tolerance " << worst << "\n";
}

TEST(VitDp, LoopClippingMatchesABruteForceComputation) {
  expect_steps_match_brute_force({});
  expect_steps_match_brute_force({{"dp_physical_batch", "5"}});
}

TEST(VitDp, AFrozenBackboneIsNeitherClippedNorNoised) {
  // A "pretrained" backbone is the network's own initialisation: written, then loaded by name.
  testing::TestContext ctx(vit_options(), dp_training(), 7);
  VisionTransformer source(vit_options_from(ctx.options(), 1, 16, 2));
  testing::TestContext seed_ctx(vit_options(), dp_training(), 11);
  source->reset_parameters(seed_ctx.generator());
  const auto file = ctx.work_dir() / "init.pth";
  write_state_dict(file, *source);
  expect_steps_match_brute_force(
      {{"pretrained", file.string()}, {"image_size", "16"}, {"freeze_backbone", "true"}});
}

}  // namespace
}  // namespace panoramia::vit
