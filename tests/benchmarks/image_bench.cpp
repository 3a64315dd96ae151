// Benchmark (not a test): images per second of a training step and of per-example loss inference
// for WRN-16-4 and the image distinguisher's CNN (ResNet-18 layout), on CIFAR-shaped batches, and
// of a WRN-28-10 training step (the paper's CIFAR-10 target; scripts/gpu-check times it on a GPU).
// tests/benchmarks/image_bench.py measures the same models in PyTorch-Python; scripts/bench-image
// runs both with the same thread count and prints the ratio.
//
//   image_bench [--threads N] [--iters N] [--warmup N] [--batch-wrn N] [--batch-cnn N]
//               [--device cpu|cuda] [--case NAME]...
// Cases: wrn16-4/train, wrn16-4/loss, cnn/train, cnn/loss (the default set), wrn28-10/train.
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "classifier.hpp"
#include "model_state.hpp"
#include "network.hpp"
#include "wide_resnet.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// On a GPU the steps are queued: wait for them before reading the clock.
void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double images_per_second(const std::function<void()>& step, std::int64_t batch, int warmup,
                         int iters, const torch::Device& device) {
  for (int i = 0; i < warmup; ++i) step();
  synchronize(device);
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i) step();
  synchronize(device);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return double(batch) * iters / seconds;
}

// The distinguisher's CNN branch with a one-logit head, as the attack trains it.
struct CnnImpl : torch::nn::Module {
  panoramia::distinguisher::Encoder encoder{nullptr};
  torch::nn::Linear head{nullptr};
  CnnImpl() {
    encoder = register_module(
        "encoder", panoramia::distinguisher::Encoder(panoramia::distinguisher::EncoderOptions{}));
    head = register_module("head", torch::nn::Linear(encoder->out_features(), 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return head->forward(encoder->forward(x)).squeeze(1);
  }
};
TORCH_MODULE(Cnn);

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, iters = 5, warmup = 2;
  std::int64_t batch_wrn = 128, batch_cnn = 64;
  std::vector<std::string> cases;
  std::string device_name = "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--threads")
      threads = std::stoi(value);
    else if (key == "--iters")
      iters = std::stoi(value);
    else if (key == "--warmup")
      warmup = std::stoi(value);
    else if (key == "--batch-wrn")
      batch_wrn = std::stoll(value);
    else if (key == "--batch-cnn")
      batch_cnn = std::stoll(value);
    else if (key == "--case")
      cases.push_back(value);
    else if (key == "--device")
      device_name = value;
    else {
      std::fprintf(stderr, "unknown argument %s\n", key.c_str());
      return 2;
    }
  }
  if (cases.empty()) cases = {"wrn16-4/train", "wrn16-4/loss", "cnn/train", "cnn/loss"};
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  const torch::Device device(device_name);

  panoramia::wrn::WideResNetOptions wo;
  wo.depth = 16;
  wo.width = 4;
  wo.dropout = 0.0;
  panoramia::wrn::WideResNet wrn(wo);
  Cnn cnn;
  std::printf("# libtorch %s, %d threads, %s; wrn16-4 %lld parameters, cnn %lld parameters\n",
              TORCH_VERSION, torch::get_num_threads(), device.str().c_str(),
              (long long)panoramia::image::count_parameters(*wrn),
              (long long)panoramia::image::count_parameters(*cnn));
  wrn->to(device);
  cnn->to(device);
  // WRN-28-10 (36.5M parameters) only when asked for: it is large for a CPU.
  panoramia::wrn::WideResNet big{nullptr};
  for (const auto& name : cases)
    if (name == "wrn28-10/train" && !big) {
      wo.depth = 28;
      wo.width = 10;
      big = panoramia::wrn::WideResNet(wo);
      big->to(device);
    }

  const auto xw = torch::rand({batch_wrn, 3, 32, 32}).to(device);
  const auto yw = torch::randint(0, 10, {batch_wrn}, torch::kInt64).to(device);
  const auto xc = torch::rand({batch_cnn, 3, 32, 32}).to(device);
  const auto yc = torch::randint(0, 2, {batch_cnn}).to(torch::kFloat32).to(device);
  torch::optim::SGD wrn_opt(wrn->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  torch::optim::SGD cnn_opt(cnn->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  std::unique_ptr<torch::optim::SGD> big_opt;
  if (big)
    big_opt = std::make_unique<torch::optim::SGD>(big->parameters(),
                                                  torch::optim::SGDOptions(0.01).momentum(0.9));

  for (const auto& name : cases) {
    std::function<void()> step;
    std::int64_t batch = 0;
    if (name == "wrn16-4/train") {
      batch = batch_wrn;
      step = [&] {
        wrn->train();
        wrn_opt.zero_grad();
        torch::nn::functional::cross_entropy(wrn->forward(xw), yw).backward();
        wrn_opt.step();
      };
    } else if (name == "wrn28-10/train") {
      batch = batch_wrn;
      step = [&] {
        big->train();
        big_opt->zero_grad();
        torch::nn::functional::cross_entropy(big->forward(xw), yw).backward();
        big_opt->step();
      };
    } else if (name == "wrn16-4/loss") {
      batch = batch_wrn;
      step = [&] {
        torch::NoGradGuard guard;
        wrn->eval();
        panoramia::image::per_example_loss(wrn->forward(xw), yw);
      };
    } else if (name == "cnn/train") {
      batch = batch_cnn;
      step = [&] {
        cnn->train();
        cnn_opt.zero_grad();
        torch::binary_cross_entropy_with_logits(cnn->forward(xc), yc).backward();
        cnn_opt.step();
      };
    } else if (name == "cnn/loss") {
      batch = batch_cnn;
      step = [&] {
        torch::NoGradGuard guard;
        cnn->eval();
        torch::sigmoid(cnn->forward(xc));
      };
    } else {
      std::fprintf(stderr, "unknown case %s\n", name.c_str());
      return 2;
    }
    std::printf("%-14s batch %4lld  %10.1f images/s\n", name.c_str(), (long long)batch,
                images_per_second(step, batch, warmup, iters, device));
    std::fflush(stdout);
  }
  return 0;
}
