// Benchmark (not a test): milliseconds per StyleGAN2 training step of the `stylegan2` plugin at
// the `tiny` preset on 3x32x32 images with 10 classes (StyleGan2::train_step: one G step, one D
// step, lazy R1 every r1_interval steps, G EMA). tests/benchmarks/stylegan2_bench.py trains the
// same networks with the same step in PyTorch-Python, for issue 17; run both with the same
// --threads and --batch and compare step_ms.
//
// ADA is switched off (TrainingOptions::ada = false) on both sides. At p = 0 our augmentation is
// the identity and draws nothing, but with ADA on p moves after every ada_interval steps once
// E[sign(D(real))] passes the target, and from then on every image D sees goes through the whole
// augmentation pipeline: the work would then depend on how D happens to train. Off, p stays 0.
//
// R1 runs on the steps whose index (counted from initialize(), warm-up included) is a multiple of
// r1_interval (16), as train_step does; the .py twin keeps the same schedule, so both sides time
// the same R1 steps. step_ms is the mean over all timed steps; r1_steps says how many of them
// carried R1 (choose --steps a multiple of 16 for the amortised cost of the full schedule), and
// plain_step_ms / r1_step_ms split the mean between the two kinds.
//
//   stylegan2_bench [--batch B] [--steps S] [--warmup W] [--threads T]
#include <cstdio>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "bench_common.hpp"
#include "model_state.hpp"
#include "stylegan2.hpp"

namespace {

using panoramia::bench::Clock;
using panoramia::bench::seconds_since;
namespace sg = panoramia::stylegan2;

constexpr std::int64_t kChannels = 3, kSide = 32, kClasses = 10;

}  // namespace

int main(int argc, char** argv) {
  sg::Preset preset = sg::preset("tiny");
  std::int64_t batch = preset.training.batch_size, steps = 16, warmup = 2, threads = 1;
  if (!panoramia::bench::parse_flags(argc, argv,
                                     {{"--batch", &batch},
                                      {"--steps", &steps},
                                      {"--warmup", &warmup},
                                      {"--threads", &threads}}))
    return 2;
  if (batch < 1 || steps < 1 || warmup < 0 || threads < 1) {
    std::fprintf(stderr,
                 "--batch, --steps and --threads must be positive, --warmup not negative\n");
    return 2;
  }
  at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  preset.network.channels = kChannels;
  preset.network.classes = kClasses;
  preset.network.resolution = kSide;
  preset.training.batch_size = batch;  // the EMA's half-life counts images in batches of this size
  preset.training.ada = false;
  panoramia::testing::TestContext ctx({}, {}, 1);
  sg::StyleGan2 gan;
  gan.initialize(preset, kChannels, kSide, kClasses, ctx);
  const auto reals = torch::rand({batch, kChannels, kSide, kSide});
  const auto labels = torch::randint(0, kClasses, {batch}, torch::kInt64);

  for (std::int64_t s = 0; s < warmup; ++s) gan.train_step(reals, labels, ctx);
  const std::int64_t interval = preset.training.r1_interval;
  double total = 0, r1_total = 0;
  std::int64_t r1_steps = 0;
  for (std::int64_t s = warmup; s < warmup + steps; ++s) {
    const auto start = Clock::now();
    gan.train_step(reals, labels, ctx);
    const double seconds = seconds_since(start);
    total += seconds;
    if (s % interval == 0) {
      r1_total += seconds;
      ++r1_steps;
    }
  }
  const std::int64_t plain_steps = steps - r1_steps;

  std::printf("# libtorch %s, %d threads\n", TORCH_VERSION, at::get_num_threads());
  std::printf("impl cpp\nthreads %lld\nbatch %lld\nsteps %lld\nwarmup %lld\nr1_steps %lld\n",
              (long long)threads, (long long)batch, (long long)steps, (long long)warmup,
              (long long)r1_steps);
  std::printf("g_params %lld\nd_params %lld\n",
              (long long)panoramia::image::count_parameters(*gan.generator()),
              (long long)panoramia::image::count_parameters(*gan.discriminator()));
  std::printf("step_ms %.3f\n", total / double(steps) * 1e3);
  if (plain_steps > 0)
    std::printf("plain_step_ms %.3f\n", (total - r1_total) / double(plain_steps) * 1e3);
  if (r1_steps > 0) std::printf("r1_step_ms %.3f\n", r1_total / double(r1_steps) * 1e3);
  std::printf("kimg_per_s %.5f\n", double(batch * steps) / total / 1e3);
  return 0;
}
