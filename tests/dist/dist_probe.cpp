// A one-rank-of-N training run for the data-parallel tests: joins the ranks, trains the toy MLP or
// a tiny Wide ResNet through the plugins' own training loops (mlp::train, image::train_classifier)
// on seeded toy data, and saves the final parameters and buffers.
//
//   dist_probe --model mlp|wrn|bn|sums|<a probe of probes.hpp> --world N --rank R --master
//   HOST:PORT --out FILE
//              [--epochs E] [--timeout S] [--ready FILE]
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "classifier.hpp"
#include "context_impl.hpp"
#include "dist/communicator.hpp"
#include "network.hpp"
#include "panoramia/data_parallel.hpp"
#include "pipeline.hpp"
#include "probes.hpp"
#include "wide_resnet.hpp"

using namespace panoramia;

namespace {

std::vector<at::Tensor> train_mlp(Context& ctx, std::int64_t epochs) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(11);
  const auto x = torch::randn({200, 10}, g);
  const auto y = (x.narrow(1, 0, 3).sum(1) > 0).to(torch::kFloat32);
  torch::manual_seed(5);
  mlp::MlpOptions o;
  o.inputs = 10;
  o.hidden = {32, 16};
  mlp::Mlp net(o);
  mlp::TrainOptions t;
  t.epochs = epochs;
  t.batch_size = 50;  // 4 global batches per epoch
  t.lr = 0.01;
  mlp::train(net, x, y, {}, {}, t, ctx, "probe mlp");
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) state.push_back(p.detach().clone());
  return state;
}

// SGD with momentum: Adam's first steps are about lr * sign(gradient), so gradient elements that
// are zero up to rounding differ by a whole step between any two summation orders (in PyTorch's DDP
// too); the MLP shows that Adam runs match wherever gradients are not at the rounding level.
std::string g_optimizer = "sgd";

std::vector<at::Tensor> train_wrn(Context& ctx, std::int64_t epochs) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(12);
  Batch train;
  train.x = torch::rand({48, 1, 12, 12}, g);
  train.y = torch::randint(0, 3, {48}, g);
  train.modality = "image";
  wrn::WideResNetOptions o;
  o.depth = 10;
  o.width = 1;
  o.dropout = 0.3;  // masks drawn for the global batch: the ranks keep the one-process masks
  o.in_channels = 1;
  o.classes = 3;
  wrn::WideResNet net(o);
  auto init = at::make_generator<at::CPUGeneratorImpl>(13);
  net->reset_parameters(init);
  image::ClassifierRecipe recipe;
  recipe.epochs = epochs;
  recipe.batch_size = 16;  // 3 global batches per epoch, flip + crop augmentation drawn globally
  recipe.optimizer.schedule = "constant";
  recipe.optimizer.name = g_optimizer;
  image::Normalization normalization;
  image::train_classifier(*net, normalization, train, Batch{}, recipe, ctx, "probe wrn");
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) state.push_back(p.detach().clone());
  for (const auto& b : net->buffers()) state.push_back(b.detach().clone().to(torch::kFloat64));
  return state;
}

// One forward and backward pass of BatchNorm2d (affine) on a global batch of `rows` rows sharded
// over the ranks (uneven shards; an empty one when rows < ranks): the output, the input gradient
// (each rank's rows, summed over the ranks into the whole batch), the weight and bias gradients
// and the running statistics.
void batch_norm_pass(Communicator& comm, std::int64_t rows, std::vector<at::Tensor>& state) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(14 + rows);
  const auto x = (torch::randn({rows, 3, 4, 4}, g) * 2 + 1).requires_grad_();
  const auto r = torch::randn({rows, 3, 4, 4}, g);
  torch::nn::BatchNorm2d bn(3);
  {
    torch::NoGradGuard guard;
    bn->weight.copy_(torch::tensor({0.5, 1.5, -1.0}));
    bn->bias.copy_(torch::tensor({0.1, -0.2, 0.3}));
  }
  DataParallel dp(comm, *bn);
  bn->zero_grad();
  const auto y = batch_norm(bn, dp.shard(x));
  const auto loss = (y * dp.shard(r)).sum();
  dp.prepare();
  loss.backward();
  dp.synchronize();
  torch::NoGradGuard guard;
  const auto [begin, end] = dp.shard_range(rows);
  std::vector<at::Tensor> whole{torch::zeros_like(x), x.grad().clone()};
  whole[0].slice(0, begin, end).copy_(y);
  comm.all_reduce_sum(whole);
  for (const auto& t : whole) state.push_back(t);
  for (const auto& t : {bn->weight.grad(), bn->bias.grad(), bn->running_mean, bn->running_var})
    state.push_back(t.clone());
}

// Sums over the ranks of tensors of several shapes and types in one call, one of them a
// non-contiguous view: rank r contributes r + 1 times each pattern.
std::vector<at::Tensor> sums(Communicator& comm) {
  const double k = comm.rank() + 1;
  auto base = torch::arange(6, torch::kFloat32).view({2, 3}) * k;
  std::vector<at::Tensor> t{torch::tensor({1.0, 2.0}) * k, torch::full({3}, 10, torch::kInt64) * k,
                            base.t(), torch::ones({1}, torch::kFloat64) * k};
  comm.all_reduce_sum(t);
  return {t[0], t[1].to(torch::kFloat64), base, t[3]};
}

std::vector<at::Tensor> batch_norm_passes(Communicator& comm) {
  std::vector<at::Tensor> state;
  batch_norm_pass(comm, 7, state);
  batch_norm_pass(comm, 1, state);
  return state;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "mlp", out, ready;
  std::int64_t epochs = 2;
  double timeout = 20;
  dist::Options options;
  if (argc == 4 && std::string(argv[1]) == "--compare") {  // per-tensor max |a - b|, for debugging
    std::vector<at::Tensor> a, b;
    torch::load(a, argv[2]);
    torch::load(b, argv[3]);
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      std::cout << i << " " << a[i].sizes() << " "
                << (a[i].to(torch::kFloat64) - b[i].to(torch::kFloat64)).abs().max().item<double>()
                << "\n";
    return 0;
  }
  try {
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string key = argv[i], value = argv[i + 1];
      if (key == "--model")
        model = value;
      else if (key == "--world")
        options.world_size = std::stoi(value);
      else if (key == "--rank")
        options.rank = std::stoi(value);
      else if (key == "--master")
        dist::parse_master(value, options);
      else if (key == "--out")
        out = value;
      else if (key == "--epochs")
        epochs = std::stoll(value);
      else if (key == "--timeout")
        timeout = std::stod(value);
      else if (key == "--ready")
        ready = value;
      else if (key == "--optimizer")
        g_optimizer = value;
      else
        throw std::invalid_argument("unknown argument " + key);
    }
    options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
    set_threads(1);
    auto comm = dist::connect(options);
    if (!ready.empty()) std::ofstream(ready) << "joined\n";
    auto logger = spdlog::stderr_color_mt("probe");
    logger->set_level(spdlog::level::warn);
    HostContext ctx(OptionValues{}, logger, 99, std::filesystem::temp_directory_path(), torch::kCPU,
                    comm.get());
    std::vector<at::Tensor> state;
    if (model == "mlp")
      state = train_mlp(ctx, epochs);
    else if (model == "wrn")
      state = train_wrn(ctx, epochs);
    else if (model == "bn")
      state = batch_norm_passes(*comm);
    else if (model == "sums")
      state = sums(*comm);
    else if (const auto it = probes::registry().find(model); it != probes::registry().end())
      state = it->second(ctx, epochs);
    else
      throw std::invalid_argument("unknown --model " + model);
    if (!out.empty()) torch::save(state, out);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
