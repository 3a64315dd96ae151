// Benchmark (not a test): rows per second of the `mlp` plugin's training loop (one epoch, Adam,
// batch 32, the reference network 108 -> 150 -> 100 -> 50 -> 10 -> 1) and of its per-example loss
// scoring, on Adult-sized random data. mlp_bench.py does the same in PyTorch-Python;
// scripts/bench-tabular runs both and prints the ratio.
//
//   mlp_bench [--rows N] [--inputs D] [--batch B] [--threads T] [--repeat R] [--width W]
// (--width W: every hidden layer W wide instead of the reference 150, 100, 50, 10)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "bench_common.hpp"
#include "network.hpp"

namespace {

using panoramia::bench::Clock;
using panoramia::bench::seconds_since;

namespace mlp = panoramia::mlp;

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 30000, inputs = 108, batch = 32, threads = 1, repeat = 3, width = 0;
  if (!panoramia::bench::parse_flags(argc, argv,
                                     {{"--rows", &rows},
                                      {"--inputs", &inputs},
                                      {"--batch", &batch},
                                      {"--threads", &threads},
                                      {"--repeat", &repeat},
                                      {"--width", &width}}))
    return 2;
  at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  const auto table = panoramia::bench::random_table(rows, inputs);
  const auto& x = table.first;
  const auto& y = table.second;

  mlp::MlpOptions options;
  options.inputs = inputs;
  options.hidden = {150, 100, 50, 10};
  if (width > 0) options.hidden = {width, width, width, width};
  mlp::TrainOptions train;
  train.epochs = 1;
  train.batch_size = batch;
  panoramia::testing::TestContext ctx({}, {}, 1);

  double best_train = 1e300, best_score = 1e300, best_score_small = 1e300;
  for (int64_t r = 0; r < repeat; ++r) {
    mlp::Mlp net(options);
    auto start = Clock::now();
    mlp::train(net, x, y, {}, {}, train, ctx, "bench");  // the plugin's own loop
    best_train = std::min(best_train, seconds_since(start));

    start = Clock::now();
    const auto loss = mlp::per_example_loss(mlp::predict_logits(net, x), y);  // plugin batches
    best_score = std::min(best_score, seconds_since(start));
    if (!torch::isfinite(loss).all().item<bool>()) return 1;

    start = Clock::now();
    {
      torch::NoGradGuard no_grad;
      net->eval();
      for (int64_t i = 0; i < rows; i += batch) {
        const auto xb = x.slice(0, i, std::min(rows, i + batch));
        const auto yb = y.slice(0, i, std::min(rows, i + batch));
        mlp::per_example_loss(net->forward(xb), yb);
      }
    }
    best_score_small = std::min(best_score_small, seconds_since(start));
  }
  std::printf("impl cpp threads %lld rows %lld inputs %lld batch %lld\n", (long long)threads,
              (long long)rows, (long long)inputs, (long long)batch);
  std::printf("train_rows_per_s %.1f\n", double(rows) / best_train);
  std::printf("score_rows_per_s %.1f\n", double(rows) / best_score);
  std::printf("score_batch_rows_per_s %.1f\n", double(rows) / best_score_small);
  return 0;
}
