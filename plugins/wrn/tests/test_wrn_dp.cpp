// The wrn target under DP-SGD: GroupNorm instead of BatchNorm, the accountant's epsilon reported
// and kept with the checkpoint, vectorised per-example clipping of the whole WRN against a
// brute-force per-example loop, the loop fallback giving the same training, a toy task learned.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include <dp/dp_sgd.hpp>
#include <dp/layer_tape.hpp>
#include <dp/rdp.hpp>
#include <dp/report_checks.hpp>

#include <panoramia/testing.hpp>

#include "image_batch.hpp"
#include "toy_images.hpp"
#include "wide_resnet.hpp"
#include "wrn_target.hpp"

namespace panoramia::wrn {
namespace {

std::map<std::string, std::string> dp_training(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> o = {
      {"depth", "10"},       {"width", "1"},        {"dropout", "0"},
      {"epochs", "6"},       {"batch_size", "64"},  {"optimizer", "sgd"},
      {"momentum", "0.9"},   {"lr", "0.1"},         {"schedule", "constant"},
      {"weight_decay", "0"}, {"crop_padding", "0"}, {"flip", "false"},
      {"dp", "true"},        {"clip_norm", "1.0"},  {"target_epsilon", "8"},
      {"norm_groups", "4"}};
  for (auto& [k, v] : extra) o[k] = v;
  return o;
}

bool has_module(const torch::nn::Module& m, const std::string& kind) {
  for (const auto& sub : m.modules())
    if (sub->name().find(kind) != std::string::npos) return true;
  return false;
}

TEST(WrnDp, TrainsWithGroupNormAndReportsTheSpentEpsilon) {
  testing::TestContext ctx(wrn_options(), dp_training(), 3);
  WrnTarget target;
  const auto train = toy_images(512, 1), validation = toy_images(128, 2);
  target.fit(train, validation, ctx);
  ASSERT_TRUE(target.network());
  EXPECT_TRUE(has_module(*target.network(), "GroupNorm"));
  EXPECT_FALSE(has_module(*target.network(), "BatchNorm"));

  ASSERT_TRUE(target.dp_report().has_value());
  const auto& r = *target.dp_report();
  EXPECT_LE(r.epsilon, 8.0);
  EXPECT_GT(r.epsilon, 7.99);  // the noise is solved tightly for the target
  dp::testing::expect_accounted(r, 6 * 8, 64.0 / 512.0, 1e-5);  // ceil(512 / 64) batches an epoch
  EXPECT_EQ(r.norm, "group");

  // Private and still learning: the square's position is easy to see.
  const auto held_out = target.side_signals(validation, "best", ctx);
  EXPECT_GT(image::accuracy(held_out.logits, validation.y), 0.85);

  target.save(ctx.work_dir(), ctx);
  dp::testing::expect_dp_json(ctx.work_dir(), r);
  WrnTarget loaded;
  loaded.load(ctx.work_dir(), ctx);
  ASSERT_TRUE(loaded.dp_report().has_value());
  EXPECT_DOUBLE_EQ(loaded.dp_report()->epsilon, r.epsilon);
  EXPECT_TRUE(torch::equal(held_out.loss, loaded.side_signals(validation, "best", ctx).loss));
}

TEST(WrnDp, BatchNormIsRefusedUnderDpAndKeptWithout) {
  const auto train = toy_images(32, 3);
  {
    testing::TestContext ctx(wrn_options(), dp_training({{"norm", "batch"}}), 7);
    WrnTarget target;
    try {
      target.fit(train, Batch{}, ctx);
      FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("norm = batch"), std::string::npos) << e.what();
    }
  }
  WideResNetOptions o;
  o.depth = 10;
  o.width = 1;
  WideResNet batch_norm(o);
  EXPECT_THROW(dp::reject_batch_norm(*batch_norm, "test"), std::invalid_argument);
  // Without dp, auto keeps the original BatchNorm and no report is made.
  testing::TestContext ctx(wrn_options(), dp_training({{"dp", "false"}, {"epochs", "1"}}), 7);
  WrnTarget target;
  target.fit(train, Batch{}, ctx);
  EXPECT_TRUE(has_module(*target.network(), "BatchNorm"));
  EXPECT_FALSE(target.dp_report().has_value());
}

// The tape's clipped sum over a whole WRN (stem, blocks with projection shortcuts, GroupNorms,
// head) equals Σ_i min(1, C/‖g_i‖) g_i with g_i from a backward pass on example i alone.
TEST(WrnDp, VectorisedClippingEqualsABruteForceLoop) {
  WideResNetOptions o;
  o.depth = 10;
  o.width = 2;
  o.dropout = 0;
  o.in_channels = 1;
  o.classes = 3;
  o.norm = "group";
  o.groups = 4;
  torch::manual_seed(2);
  WideResNet net(o);
  net->to(torch::kFloat64);
  auto g = at::make_generator<at::CPUGeneratorImpl>(4);
  const auto x = torch::randn({8, 1, 10, 10}, g, torch::kFloat64);
  const auto y = torch::randint(3, {8}, g, torch::kInt64);
  const auto params = net->parameters();
  const auto loss = [&](const torch::Tensor& out, const torch::Tensor& labels) {
    return torch::nn::functional::cross_entropy(
        out, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  };
  std::vector<double> norms;
  std::vector<std::vector<torch::Tensor>> grads;
  for (std::int64_t i = 0; i < 8; ++i) {
    net->zero_grad();
    loss(net->forward(x.slice(0, i, i + 1)), y.slice(0, i, i + 1)).sum().backward();
    double sq = 0;
    grads.emplace_back();
    for (const auto& p : params) {
      sq += p.grad().pow(2).sum().item<double>();
      grads.back().push_back(p.grad().clone());
    }
    norms.push_back(std::sqrt(sq));
  }
  const double clip = torch::tensor(norms).median().item<double>();
  dp::LayerTape tape;
  const auto losses = loss(net->forward(x, &tape), y);
  // Stem; per block gn, conv, gn, conv and a projection shortcut (every block changes width or
  // stride at depth 10); final gn; fc.
  EXPECT_EQ(tape.size(), 1u + 3 * 5 + 1 + 1);
  const auto got = dp::clip_per_example_tape(params, tape, losses, clip);
  ASSERT_EQ(got.sum.size(), params.size());
  dp::testing::expect_clipped_sum(got, grads, norms, clip);
}

TEST(WrnDp, LoopFallbackTrainsTheSameModel) {
  const auto train = toy_images(96, 5), validation = toy_images(32, 6);
  auto options = dp_training({{"epochs", "1"}, {"batch_size", "16"}, {"dp_physical_batch", "5"}});
  testing::TestContext c1(wrn_options(), options, 9);
  options["dp_clipping"] = "loop";
  testing::TestContext c2(wrn_options(), options, 9);
  WrnTarget vectorised, loop;
  vectorised.fit(train, validation, c1);
  loop.fit(train, validation, c2);
  const auto a = vectorised.side_signals(validation, "final", c1).loss;
  const auto b = loop.side_signals(validation, "final", c2).loss;
  // Float32, identical noise: the runs differ only in the rounding of the clipped sums (the loop's
  // and the tape's orders), ≤ 2·γ·u·B·C per element per step (each clipped g_i ≤ C = 1) with γ the
  // roundings along a path; carried by 6 SGD steps (lr 0.1, momentum 0.9: ≤ 10 steps' worth each)
  // into the weights and then the losses. In practice these errors add like a random walk
  // (~√γ·u, γ ~ 1e4 here: ~1e-5 relative per step); 1e-3 relative leaves 100x of that, while a
  // clipping bug trains another model (losses ~1e-1 apart).
  EXPECT_TRUE(torch::allclose(a, b, 1e-3, 1e-4)) << (a - b).abs().max().item<double>();
  std::cout << "vectorised vs loop clipping: max |loss difference| "
            << (a - b).abs().max().item<double>() << "\n";
  EXPECT_DOUBLE_EQ(vectorised.dp_report()->epsilon, loop.dp_report()->epsilon);
  // Same seed, same run.
  testing::TestContext c3(wrn_options(), dp_training({{"epochs", "1"}, {"batch_size", "16"}}), 9);
  testing::TestContext c4(wrn_options(), dp_training({{"epochs", "1"}, {"batch_size", "16"}}), 9);
  WrnTarget t3, t4;
  t3.fit(train, validation, c3);
  t4.fit(train, validation, c4);
  EXPECT_TRUE(torch::equal(t3.side_signals(validation, "final", c3).loss,
                           t4.side_signals(validation, "final", c4).loss));
}

}  // namespace
}  // namespace panoramia::wrn
