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
#include <functional>
#include <memory>
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
namespace gpt2 = panoramia::gpt2;

struct Sizes {
  int64_t rows, batch, steps, repeat;
};

// A fresh network for one timed run: its parameters, its DP clipped sum over the rows `idx` (a
// Poisson batch), and its ordinary mean loss on rows [first, first + batch).
struct Workload {
  std::vector<torch::Tensor> params;
  std::function<dp::ClippedGradients(const torch::Tensor& idx, double clip_norm)> clip;
  std::function<torch::Tensor(int64_t first)> loss;
  std::shared_ptr<void> keep;  // the network
};

// Seconds per DP-SGD step (Poisson sampling, clipping, noise σ = 1, C = 1, SGD) and per ordinary
// step on batches of the expected size: the best of `repeat` runs, each on a fresh network.
std::pair<double, double> time_steps(const Sizes& n, panoramia::testing::TestContext& ctx,
                                     const std::function<Workload()>& make) {
  double best_dp = 1e300, best_plain = 1e300;
  for (int64_t r = 0; r < n.repeat; ++r) {
    const Workload w = make();
    dp::DpSgdOptions o;
    o.noise_multiplier = 1.0;
    o.clip_norm = 1.0;
    o.dataset_size = n.rows;
    o.expected_batch = n.batch;
    dp::DpSgd dp_sgd(w.params, o);
    auto optimizer = dp::make_optimizer("sgd", w.params, 0.05);
    auto start = Clock::now();
    for (int64_t s = 0; s < n.steps; ++s) {
      const auto idx = dp_sgd.sample(ctx.generator());
      dp_sgd.privatize(w.clip(idx, o.clip_norm), ctx.generator());
      optimizer->step();
    }
    best_dp = std::min(best_dp, seconds_since(start) / double(n.steps));
    torch::optim::SGD plain(w.params, torch::optim::SGDOptions(0.05));
    start = Clock::now();
    for (int64_t s = 0; s < n.steps; ++s) {
      plain.zero_grad();
      w.loss((s * n.batch) % std::max<int64_t>(1, n.rows - n.batch)).backward();
      plain.step();
    }
    best_plain = std::min(best_plain, seconds_since(start) / double(n.steps));
  }
  return {best_dp, best_plain};
}

torch::Tensor cross_entropy_rows(const torch::Tensor& logits, const torch::Tensor& labels) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

// The Adult MLP: vectorised clipping of its Linear stack.
Workload mlp_workload(const Sizes& n, const torch::Tensor& x, const torch::Tensor& y) {
  mlp::MlpOptions options;
  options.inputs = x.size(1);
  options.hidden = {150, 100, 50, 10};
  auto net = std::make_shared<mlp::Mlp>(options);
  auto* stack = &(*net)->layers();
  const dp::OutputLoss loss = [](const torch::Tensor& out, const torch::Tensor& labels) {
    return mlp::per_example_loss(out.squeeze(1), labels);
  };
  return {(*stack)->parameters(),
          [=](const torch::Tensor& idx, double clip) {
            return dp::clip_per_example_linear(*stack, loss, x.index_select(0, idx),
                                               y.index_select(0, idx), clip);
          },
          [=](int64_t first) {
            return loss((*stack)->forward(x.slice(0, first, first + n.batch)),
                        y.slice(0, first, first + n.batch))
                .mean();
          },
          net};
}

// WRN-16-4 with GroupNorm and no dropout: the layer tape's clipping.
Workload wrn_workload(const Sizes& n, const torch::Tensor& x, const torch::Tensor& y) {
  wrn::WideResNetOptions options;
  options.depth = 16;
  options.width = 4;
  options.dropout = 0;
  options.norm = "group";
  auto net = std::make_shared<wrn::WideResNet>(options);
  (*net)->train();
  auto* impl = net->get();
  return {impl->parameters(),
          [=](const torch::Tensor& idx, double clip) {
            dp::LayerTape tape;
            const auto logits = impl->forward(x.index_select(0, idx), &tape);
            return dp::clip_per_example_tape(
                impl->parameters(), tape, cross_entropy_rows(logits, y.index_select(0, idx)), clip);
          },
          [=](int64_t first) {
            return cross_entropy_rows(impl->forward(x.slice(0, first, first + n.batch)),
                                      y.slice(0, first, first + n.batch))
                .mean();
          },
          net};
}

// Tiny GPT-2 (a block is the unit of privacy): the gpt2 target's clipping, a backward pass per
// block.
Workload gpt2_workload(const Sizes& n, const torch::Tensor& blocks,
                       panoramia::testing::TestContext& ctx) {
  gpt2::Gpt2Config config;
  config.layers = 2;
  config.heads = 2;
  config.width = 64;
  config.context = blocks.size(1);
  auto model = std::make_shared<gpt2::Gpt2>(config);
  (*model)->init_weights(ctx.generator());
  (*model)->train();
  return {
      (*model)->parameters(),
      [=](const torch::Tensor& idx, double clip) {
        return gpt2::clip_blocks(*model, (*model)->parameters(), blocks.index_select(0, idx), clip);
      },
      [=](int64_t first) { return gpt2::lm_loss(*model, blocks.slice(0, first, first + n.batch)); },
      model};
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
  const Sizes n{rows, batch, steps, repeat};
  panoramia::testing::TestContext ctx({}, {}, 1);
  std::pair<double, double> seconds;
  if (model == "mlp") {
    const auto [x, y] = panoramia::bench::random_table(rows, inputs);
    seconds = time_steps(n, ctx, [&] { return mlp_workload(n, x, y); });
  } else if (model == "wrn16-4") {
    const auto x = torch::rand({rows, 3, 32, 32});
    const auto y = torch::randint(10, {rows}, torch::kInt64);
    seconds = time_steps(n, ctx, [&] { return wrn_workload(n, x, y); });
  } else if (model == "gpt2") {
    const auto blocks = torch::randint(0, 50257, {rows, 64}, torch::kInt64);
    seconds = time_steps(n, ctx, [&] { return gpt2_workload(n, blocks, ctx); });
  } else {
    std::fprintf(stderr, "unknown --model %s (mlp, wrn16-4 or gpt2)\n", model.c_str());
    return 2;
  }
  std::printf("impl cpp model %s threads %lld rows %lld batch %lld steps %lld\n", model.c_str(),
              (long long)threads, (long long)rows, (long long)batch, (long long)steps);
  std::printf("dp_step_ms %.4f\nplain_step_ms %.4f\n", seconds.first * 1e3, seconds.second * 1e3);
  return 0;
}
