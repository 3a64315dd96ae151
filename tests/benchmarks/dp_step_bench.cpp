// Benchmark (not a test): milliseconds per step of DP-SGD on the Adult MLP (the reference network
// 108 -> 150 -> 100 -> 50 -> 10 -> 1) with the `mlp` plugin's DP code path (Poisson sampling,
// vectorised per-example clipping of the Linear stack, noise, SGD), and of the same network's
// non-private step on a batch of the expected size. dp_step_bench.py does the same with Opacus;
// scripts/bench-peers runs both with the same threads and prints the ratios.
//
//   dp_step_bench [--rows N] [--inputs D] [--batch B] [--steps S] [--threads T] [--repeat R]
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
#include "network.hpp"

namespace {

using panoramia::bench::Clock;
using panoramia::bench::seconds_since;

namespace mlp = panoramia::mlp;
namespace dp = panoramia::dp;

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 30000, inputs = 108, batch = 256, steps = 50, threads = 1, repeat = 3;
  if (!panoramia::bench::parse_flags(argc, argv,
                                     {{"--rows", &rows},
                                      {"--inputs", &inputs},
                                      {"--batch", &batch},
                                      {"--steps", &steps},
                                      {"--threads", &threads},
                                      {"--repeat", &repeat}}))
    return 2;
  at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
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
