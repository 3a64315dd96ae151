// The gpt2 target under DP-SGD: the accountant's epsilon at the target, kept through save/load,
// loop clipping of whole blocks against a brute-force per-block computation, vectorised clipping
// refused, and a tiny model still learning repeated sequences.
#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>

#include <dp/rdp.hpp>
#include <dp/report_checks.hpp>

#include <panoramia/testing.hpp>

#include "dp_training.hpp"
#include "gpt2_target.hpp"
#include "small_config.hpp"

namespace panoramia::gpt2 {
namespace {

using panoramia::testing::message_of;
using panoramia::testing::TestContext;
using ::testing::HasSubstr;

// A few distinct sequences, repeated.
Batch repeated(std::int64_t n, std::uint64_t seed) {
  const auto base = torch::randint(0, 64, {4, 16}, at::make_generator<at::CPUGeneratorImpl>(seed));
  Batch b;
  b.x = base.repeat({(n + 3) / 4, 1}).slice(0, 0, n).contiguous();
  b.modality = "text";
  return b;
}

std::map<std::string, std::string> dp_model(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> o = {
      {"preset", "tiny"},    {"width", "32"},  {"context", "32"},       {"vocab_size", "64"},
      {"dropout", "0"},      {"epochs", "30"}, {"batch_size", "16"},    {"lr", "1e-2"},
      {"warmup_steps", "2"}, {"dp", "true"},   {"target_epsilon", "8"}, {"clip_norm", "1"}};
  for (auto& [k, v] : extra) o[k] = v;
  return o;
}

TEST(Gpt2Dp, TrainsReportsTheSpentEpsilonAndKeepsItThroughSaveAndLoad) {
  TestContext ctx(Gpt2Target::option_specs(), dp_model(), 3);
  const auto train = repeated(64, 1);
  Gpt2Target target;
  target.fit(train, Batch{}, ctx);
  ASSERT_TRUE(target.dp_report().has_value());
  const auto& r = *target.dp_report();
  EXPECT_LE(r.epsilon, 8.0);
  EXPECT_GT(r.epsilon, 7.99);  // the noise is solved tightly for the target
  dp::testing::expect_accounted(r, 30 * 4, 16.0 / 64.0, 1e-5);  // ceil(64 / 16) batches an epoch
  EXPECT_EQ(r.clipping, "loop");

  // Private and still learning: far below the uniform guess's log(64) on the repeated blocks.
  const auto signals = target.side_signals(train, "final", ctx);
  EXPECT_LT(signals.loss.mean().item<double>(), 0.75 * std::log(64.0));

  const auto dir = ctx.work_dir() / "saved";
  std::filesystem::create_directories(dir);
  target.save(dir, ctx);
  dp::testing::expect_dp_json(dir, r);
  Gpt2Target loaded;
  loaded.load(dir, ctx);
  ASSERT_TRUE(loaded.dp_report().has_value());
  EXPECT_DOUBLE_EQ(loaded.dp_report()->epsilon, r.epsilon);
  EXPECT_EQ(loaded.dp_report()->steps, r.steps);
  // The same float32 weights, loaded bit for bit, through the same computation: equal (allclose's
  // defaults only guard).
  EXPECT_TRUE(torch::allclose(signals.loss, loaded.side_signals(train, "final", ctx).loss));

  // Without dp: no report, and none left from the earlier fit.
  TestContext plain(Gpt2Target::option_specs(), dp_model({{"dp", "false"}, {"epochs", "1"}}));
  target.fit(train, Batch{}, plain);
  EXPECT_FALSE(target.dp_report().has_value());
}

TEST(Gpt2Dp, VectorisedClippingIsRefused) {
  TestContext ctx(Gpt2Target::option_specs(), dp_model({{"dp_clipping", "vectorized"}}));
  Gpt2Target target;
  EXPECT_THAT(message_of([&] { target.fit(repeated(8, 2), Batch{}, ctx); }),
              HasSubstr("set dp_clipping = loop"));
}

// The clipped sum over blocks equals Σ_i min(1, C/(‖g_i‖ + 1e-6)) g_i with g_i the gradient of
// block i's mean next-token loss from a backward pass on that block alone.
TEST(Gpt2Dp, LoopClippingEqualsABruteForcePerBlockComputation) {
  const Gpt2Config c = small_config(0);
  Gpt2 model(c);
  model->init_weights(at::make_generator<at::CPUGeneratorImpl>(5));
  model->to(torch::kFloat64);
  model->train();
  const auto blocks = torch::randint(0, 50, {6, 12}, at::make_generator<at::CPUGeneratorImpl>(6));
  const auto params = model->parameters();
  std::vector<double> norms;
  std::vector<std::vector<at::Tensor>> grads;
  for (std::int64_t i = 0; i < 6; ++i) {
    const auto logits = model->forward(blocks.slice(0, i, i + 1).slice(1, 0, -1));
    const auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, c.vocab}), blocks.slice(0, i, i + 1).slice(1, 1).reshape({-1}));
    const auto g = torch::autograd::grad({loss}, params, {}, false, false, true);
    double sq = 0;
    grads.emplace_back();
    for (size_t k = 0; k < params.size(); ++k) {
      grads.back().push_back(g[k].defined() ? g[k] : torch::zeros_like(params[k]));
      sq += grads.back().back().pow(2).sum().item<double>();
    }
    norms.push_back(std::sqrt(sq));
  }
  const double clip = torch::tensor(norms).median().item<double>();
  const auto got = clip_blocks(model, params, blocks, clip);
  ASSERT_EQ(got.sum.size(), params.size());
  // Clipped and unclipped examples both occur (the clipping norm is the median).
  EXPECT_GT(std::count_if(norms.begin(), norms.end(), [&](double n) { return n > clip; }), 0);
  dp::testing::expect_clipped_sum(got, grads, norms, clip);
}

}  // namespace
}  // namespace panoramia::gpt2
