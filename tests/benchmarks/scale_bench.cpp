// Benchmark (not a test) of data-parallel training: images per second of a WRN-16-4 training step
// on 3x32x32 inputs (global batch 128, SGD, synchronised BatchNorm, gradients all-reduced through
// the DataParallel facility) for this rank layout, the FLOP rate that implies, and the sgemm peak
// of this machine measured with LibTorch's mm on large square matrices at the same thread count.
//
//   scale_bench --threads T [--world N --rank R --master HOST:PORT] [--steps S] [--warmup W]
//               [--batch B] [--latency ROUNDS]  (ROUNDS > 0: time small all-reduces instead)
// scripts/bench-scale runs the three layouts of issue 8 and prints one table.
#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

#include "dist/communicator.hpp"
#include "pipeline.hpp"
#include "wide_resnet.hpp"

using namespace panoramia;
using clock_type = std::chrono::steady_clock;

namespace {

// Multiply-adds x 2 of one forward pass of WRN-depth-k on a 3 x side x side image: the stem, two
// 3x3 convolutions per block, the 1x1 shortcut where the width or stride changes, and the head.
double forward_flops(std::int64_t depth, std::int64_t k, std::int64_t side, std::int64_t classes) {
  const std::int64_t blocks = (depth - 4) / 6;
  double flops = 2.0 * 3 * 16 * 9 * side * side;
  std::int64_t in = 16, s = side;
  const std::int64_t widths[] = {16 * k, 32 * k, 64 * k};
  for (int g = 0; g < 3; ++g) {
    for (std::int64_t b = 0; b < blocks; ++b) {
      const bool down = g > 0 && b == 0;
      const std::int64_t out_side = down ? s / 2 : s;
      const std::int64_t out = widths[g];
      flops += 2.0 * in * out * 9 * out_side * out_side;                     // first 3x3 (strided)
      flops += 2.0 * out * out * 9 * out_side * out_side;                    // second 3x3
      if (in != out || down) flops += 2.0 * in * out * out_side * out_side;  // 1x1 shortcut
      in = out;
      s = out_side;
    }
  }
  return flops + 2.0 * in * classes;
}

double sgemm_peak(std::int64_t n, int reps) {
  const auto a = torch::randn({n, n}), b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  const auto t0 = clock_type::now();
  for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  return 2.0 * double(n) * n * n * reps / s / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Options options;
  int threads = 1, steps = 10, warmup = 2, latency_rounds = 0;
  std::int64_t batch = 128;
  try {
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string key = argv[i], value = argv[i + 1];
      if (dist::parse_rank_option(key, value, options)) continue;
      if (key == "--threads")
        threads = std::stoi(value);
      else if (key == "--steps")
        steps = std::stoi(value);
      else if (key == "--warmup")
        warmup = std::stoi(value);
      else if (key == "--batch")
        batch = std::stoll(value);
      else if (key == "--latency")
        latency_rounds = std::stoi(value);
      else
        throw std::invalid_argument("unknown argument " + key);
    }
    set_threads(threads);
    auto comm = dist::connect(options);
    if (latency_rounds > 0) {  // the time of one small blocking all-reduce (64 floats)
      std::vector<at::Tensor> t{torch::ones({64})};
      for (int i = 0; i < 10; ++i) comm->all_reduce_sum(t);
      const auto t0 = clock_type::now();
      for (int i = 0; i < latency_rounds; ++i) comm->all_reduce_sum(t);
      const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() /
                        latency_rounds;
      if (comm->rank() == 0) std::cout << fmt::format("all-reduce of 64 floats: {:.1f} us\n", us);
      return 0;
    }
    torch::manual_seed(1);
    wrn::WideResNetOptions o;
    o.depth = 16;
    o.width = 4;
    o.dropout = 0.0;
    wrn::WideResNet net(o);
    net->train();
    torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    const auto x = torch::rand({batch, 3, 32, 32});
    const auto y = torch::randint(0, 10, {batch});
    DataParallel dp(*comm, *net);
    const auto xs = dp.shard(x), ys = dp.shard(y);
    const auto step = [&] {
      optimizer.zero_grad();
      const auto loss =
          torch::nn::functional::cross_entropy(net->forward(xs), ys) * dp.loss_weight(batch);
      dp.prepare();
      loss.backward();
      dp.synchronize();
      optimizer.step();
    };
    for (int i = 0; i < warmup; ++i) step();
    comm->barrier();
    const auto t0 = clock_type::now();
    for (int i = 0; i < steps; ++i) step();
    comm->barrier();
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (comm->rank() == 0) {
      const double images = double(batch) * steps / seconds;
      // A training step costs about three forward passes (forward, input and weight gradients).
      const double gflops = 3 * forward_flops(16, 4, 32, 10) * images / 1e9;
      // The peak of all ranks together: one rank's sgemm rate at this thread count, times the
      // ranks.
      const double peak = sgemm_peak(2048, 5) * options.world_size;
      std::cout << fmt::format("{} {} {:.1f} {:.1f} {:.1f} {:.2f}\n", options.world_size, threads,
                               images, gflops, peak, gflops / peak);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
