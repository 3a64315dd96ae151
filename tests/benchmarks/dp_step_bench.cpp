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

#include "dp/clipping.hpp"
#include "dp/dp_sgd.hpp"
#include "network.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace mlp = panoramia::mlp;
namespace dp = panoramia::dp;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 30000, inputs = 108, batch = 256, steps = 50, threads = 1, repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int64_t v = std::stoll(argv[i + 1]);
    if (a == "--rows")
      rows = v;
    else if (a == "--inputs")
      inputs = v;
    else if (a == "--batch")
      batch = v;
    else if (a == "--steps")
      steps = v;
    else if (a == "--threads")
      threads = v;
    else if (a == "--repeat")
      repeat = v;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  const auto x = torch::randn({rows, inputs});
  const auto w = torch::randn({inputs});
  const auto y = (x.matmul(w) + torch::randn({rows}) > 0).to(torch::kFloat32);
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
