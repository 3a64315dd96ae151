// Benchmark (not a test): tokens per second of the `gpt2` plugin's code on a tiny GPT-2 — one epoch
// of training steps (AdamW, warmup, clipping), per-token loss scoring, and generation of 64 new
// tokens with and without the key/value cache (top-k 200 sampling). gpt2_bench.py does the same in
// PyTorch-Python; scripts/bench-text runs both and prints the ratios.
//
//   gpt2_bench [--layers L] [--heads H] [--width C] [--vocab V] [--block T] [--batch B]
//              [--steps S] [--new N] [--threads K] [--repeat R] [--device cpu|cuda]
#include <chrono>
#include <cstdio>
#include <string>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "bench_common.hpp"
#include "generation.hpp"
#include "model.hpp"
#include "training.hpp"

namespace {

using panoramia::bench::Clock;
using panoramia::bench::seconds_since;

namespace gpt2 = panoramia::gpt2;

}  // namespace

int main(int argc, char** argv) {
  std::int64_t layers = 2, heads = 2, width = 64, vocab = 50257, block = 64, batch = 16, steps = 20,
               new_tokens = 64, threads = 1, repeat = 3;
  std::string device_name = "cpu";
  if (!panoramia::bench::parse_flags(argc, argv,
                                     {{"--layers", &layers},
                                      {"--heads", &heads},
                                      {"--width", &width},
                                      {"--vocab", &vocab},
                                      {"--block", &block},
                                      {"--batch", &batch},
                                      {"--steps", &steps},
                                      {"--new", &new_tokens},
                                      {"--threads", &threads},
                                      {"--repeat", &repeat}},
                                     {{"--device", &device_name}}))
    return 2;
  at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  gpt2::Gpt2Config config;
  config.layers = layers;
  config.heads = heads;
  config.width = width;
  config.vocab = vocab;
  config.context = block + new_tokens;
  const torch::Device device(device_name);
  // On a GPU the steps are queued: wait for them before reading the clock.
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  const auto data = torch::randint(0, vocab, {steps * batch, block}, torch::kInt64).to(device);
  const auto prompts = data.slice(0, 0, batch);
  panoramia::testing::TestContext ctx({}, {}, 1);

  double best_train = 1e300, best_score = 1e300, best_cached = 1e300, best_uncached = 1e300;
  for (std::int64_t r = 0; r < repeat; ++r) {
    gpt2::Gpt2 model(config);
    model->init_weights(ctx.generator());
    model->to(device);
    sync();
    gpt2::TrainOptions train;
    train.epochs = 1;
    train.batch_size = batch;
    train.lr = 1e-4;
    train.warmup_steps = 5;
    auto start = Clock::now();
    gpt2::train_lm(model, data, {}, train, ctx, "bench");  // the plugin's own loop
    sync();
    best_train = std::min(best_train, seconds_since(start));

    start = Clock::now();
    const auto losses = gpt2::token_losses(model, data, 32);
    sync();
    best_score = std::min(best_score, seconds_since(start));
    if (!torch::isfinite(losses).all().item<bool>()) return 1;

    gpt2::SamplingOptions sampling;  // top-k 200, as the reference
    start = Clock::now();
    gpt2::generate(model, prompts, new_tokens, sampling, ctx.generator());
    sync();
    best_cached = std::min(best_cached, seconds_since(start));
    sampling.use_cache = false;
    start = Clock::now();
    gpt2::generate(model, prompts, new_tokens, sampling, ctx.generator());
    sync();
    best_uncached = std::min(best_uncached, seconds_since(start));
  }
  const double tokens = double(steps * batch * block);
  const double generated = double(batch * new_tokens);
  std::printf("implementation C++\n");
  std::printf("train_tokens_per_s %.1f\n", tokens / best_train);
  std::printf("score_tokens_per_s %.1f\n", tokens / best_score);
  std::printf("generate_cached_tokens_per_s %.1f\n", generated / best_cached);
  std::printf("generate_uncached_tokens_per_s %.1f\n", generated / best_uncached);
  return 0;
}
