// Benchmark (not a test): milliseconds per step of DP-SGD, and of the same network's non-private
// step on a batch of the expected size, for
//   --model mlp:     the Adult MLP (the reference network 108 -> 150 -> 100 -> 50 -> 10 -> 1) with
//                    the `mlp` plugin's DP code path (Poisson sampling, vectorised per-example
//                    clipping of the Linear stack, noise, SGD);
//   --model wrn16-4: WRN-16-4 with GroupNorm on 3x32x32 images (10 classes, no dropout) with the
//                    image targets' vectorised clipping through a dp::LayerTape (one backward pass
//                    for the per-example norms, then the clipped sum layer by layer), noise, SGD;
//   --model gpt2:    tiny GPT-2 (2 layers, 2 heads, width 64, GPT-2's 50,257-token vocabulary with
//                    the head tied to the token embedding) on blocks of 64 tokens, with the `gpt2`
//                    target's DP path (gpt2::clip_blocks: one backward pass per block), noise, SGD.
// dp_step_bench.py does the same with Opacus; scripts/bench-peers runs both with the same threads
// and prints the ratios.
//
//   dp_step_bench [--model M] [--rows N] [--inputs D] [--batch B] [--steps S] [--threads T]
//                 [--repeat R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "bench_common.hpp"
#include "dp/clipping.hpp"
#include "dp/dp_sgd.hpp"
#include "dp/layer_tape.hpp"
#include "model.hpp"
#include "network.hpp"
#include "plugins/gpt2/dp_training.hpp"  // (mlp has a dp_training.hpp too)
#include "wide_resnet.hpp"

namespace {

using panoramia::bench::Clock;
using panoramia::bench::seconds_since;

namespace mlp = panoramia::mlp;
namespace dp = panoramia::dp;
namespace wrn = panoramia::wrn;

// WRN-16-4 (GroupNorm): seconds per DP-SGD step and per ordinary step, best of `repeat` runs.
std::pair<double, double> wrn_steps(int64_t rows, int64_t batch, int64_t steps, int64_t repeat,
                                    panoramia::testing::TestContext& ctx) {
  const auto x = torch::rand({rows, 3, 32, 32});
  const auto y = torch::randint(10, {rows}, torch::kInt64);
  wrn::WideResNetOptions options;
  options.depth = 16;
  options.width = 4;
  options.dropout = 0;
  options.norm = "group";
  const auto per_example = [](const torch::Tensor& logits, const torch::Tensor& labels) {
    return torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  };
  double best_dp = 1e300, best_plain = 1e300;
  for (int64_t r = 0; r < repeat; ++r) {
    wrn::WideResNet net(options);
    net->train();
    const auto params = net->parameters();
    dp::DpSgdOptions o;
    o.noise_multiplier = 1.0;
    o.clip_norm = 1.0;
    o.dataset_size = rows;
    o.expected_batch = batch;
    dp::DpSgd dp_sgd(params, o);
    auto optimizer = dp::make_optimizer("sgd", params, 0.05);
    auto start = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const auto idx = dp_sgd.sample(ctx.generator());
      dp::LayerTape tape;
      const auto logits = net->forward(x.index_select(0, idx), &tape);
      const auto clipped = dp::clip_per_example_tape(
          params, tape, per_example(logits, y.index_select(0, idx)), o.clip_norm);
      dp_sgd.privatize(clipped, ctx.generator());
      optimizer->step();
    }
    best_dp = std::min(best_dp, seconds_since(start) / double(steps));
    torch::optim::SGD plain(params, torch::optim::SGDOptions(0.05));
    start = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t first = (s * batch) % std::max<int64_t>(1, rows - batch);
      plain.zero_grad();
      per_example(net->forward(x.slice(0, first, first + batch)), y.slice(0, first, first + batch))
          .mean()
          .backward();
      plain.step();
    }
    best_plain = std::min(best_plain, seconds_since(start) / double(steps));
  }
  return {best_dp, best_plain};
}

// Tiny GPT-2: seconds per DP-SGD step (a block is the unit of privacy) and per ordinary step.
std::pair<double, double> gpt2_steps(int64_t rows, int64_t batch, int64_t steps, int64_t repeat,
                                     panoramia::testing::TestContext& ctx) {
  namespace gpt2 = panoramia::gpt2;
  gpt2::Gpt2Config config;
  config.layers = 2;
  config.heads = 2;
  config.width = 64;
  config.context = 64;
  const auto blocks = torch::randint(0, config.vocab, {rows, 64}, torch::kInt64);
  double best_dp = 1e300, best_plain = 1e300;
  for (int64_t r = 0; r < repeat; ++r) {
    gpt2::Gpt2 model(config);
    model->init_weights(ctx.generator());
    model->train();
    const auto params = model->parameters();
    dp::DpSgdOptions o;
    o.noise_multiplier = 1.0;
    o.clip_norm = 1.0;
    o.dataset_size = rows;
    o.expected_batch = batch;
    dp::DpSgd dp_sgd(params, o);
    auto optimizer = dp::make_optimizer("sgd", params, 0.05);
    auto start = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const auto idx = dp_sgd.sample(ctx.generator());
      const auto clipped =
          gpt2::clip_blocks(model, params, blocks.index_select(0, idx), o.clip_norm);
      dp_sgd.privatize(clipped, ctx.generator());
      optimizer->step();
    }
    best_dp = std::min(best_dp, seconds_since(start) / double(steps));
    torch::optim::SGD plain(params, torch::optim::SGDOptions(0.05));
    start = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t first = (s * batch) % std::max<int64_t>(1, rows - batch);
      plain.zero_grad();
      gpt2::lm_loss(model, blocks.slice(0, first, first + batch)).backward();
      plain.step();
    }
    best_plain = std::min(best_plain, seconds_since(start) / double(steps));
  }
  return {best_dp, best_plain};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 30000, inputs = 108, batch = 256, steps = 50, threads = 1, repeat = 3;
  std::string model = "mlp";
  if (!panoramia::bench::parse_flags(argc, argv,
                                     {{"--rows", &rows},
                                      {"--inputs", &inputs},
                                      {"--batch", &batch},
                                      {"--steps", &steps},
                                      {"--threads", &threads},
                                      {"--repeat", &repeat}},
                                     {{"--model", &model}}))
    return 2;
  at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  if (model != "mlp" && model != "wrn16-4" && model != "gpt2") {
    std::fprintf(stderr, "unknown --model %s (mlp, wrn16-4 or gpt2)\n", model.c_str());
    return 2;
  }
  if (model != "mlp") {
    panoramia::testing::TestContext ctx({}, {}, 1);
    const auto [dp_s, plain_s] = model == "gpt2" ? gpt2_steps(rows, batch, steps, repeat, ctx)
                                                 : wrn_steps(rows, batch, steps, repeat, ctx);
    std::printf("impl cpp model %s threads %lld rows %lld batch %lld steps %lld\n", model.c_str(),
                (long long)threads, (long long)rows, (long long)batch, (long long)steps);
    std::printf("dp_step_ms %.4f\nplain_step_ms %.4f\n", dp_s * 1e3, plain_s * 1e3);
    return 0;
  }
  const auto table = panoramia::bench::random_table(rows, inputs);
  const auto& x = table.first;
  const auto& y = table.second;
  mlp::MlpOptions options;
  options.inputs = inputs;
  options.hidden = {150, 100, 50, 10};
  panoramia::testing::TestContext ctx({}, {}, 1);
  const dp::OutputLoss loss = [](const torch::Tensor& out, const torch::Tensor& labels) {
    return mlp::per_example_loss(out.squeeze(1), labels);
  };

  double best_dp = 1e300, best_plain = 1e300;
  for (int64_t r = 0; r < repeat; ++r) {
    mlp::Mlp net(options);
    auto& stack = net->layers();
    const auto params = stack->parameters();
    dp::DpSgdOptions o;
    o.noise_multiplier = 1.0;
    o.clip_norm = 1.0;
    o.dataset_size = rows;
    o.expected_batch = batch;
    dp::DpSgd dp_sgd(params, o);
    auto optimizer = dp::make_optimizer("sgd", params, 0.05);
    auto start = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const auto idx = dp_sgd.sample(ctx.generator());
      const auto clipped = dp::clip_per_example_linear(stack, loss, x.index_select(0, idx),
                                                       y.index_select(0, idx), o.clip_norm);
      dp_sgd.privatize(clipped, ctx.generator());
      optimizer->step();
    }
    best_dp = std::min(best_dp, seconds_since(start) / double(steps));

    // The same network's ordinary step on batches of the expected size.
    torch::optim::SGD plain(params, torch::optim::SGDOptions(0.05));
    start = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t first = (s * batch) % std::max<int64_t>(1, rows - batch);
      plain.zero_grad();
      loss(stack->forward(x.slice(0, first, first + batch)), y.slice(0, first, first + batch))
          .mean()
          .backward();
      plain.step();
    }
    best_plain = std::min(best_plain, seconds_since(start) / double(steps));
  }
  std::printf("impl cpp threads %lld rows %lld batch %lld steps %lld\n", (long long)threads,
              (long long)rows, (long long)batch, (long long)steps);
  std::printf("dp_step_ms %.4f\n", best_dp * 1e3);
  std::printf("plain_step_ms %.4f\n", best_plain * 1e3);
  return 0;
}
