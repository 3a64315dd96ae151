// A one-rank-of-N training run for the data-parallel tests: joins the ranks, trains the toy MLP or
// a tiny Wide ResNet through the plugins' own training loops (mlp::train, image::train_classifier)
// on seeded toy data, and saves the final parameters and buffers.
//
//   dist_probe --model mlp|wrn --world N --rank R --master HOST:PORT --out FILE
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
#include "pipeline.hpp"
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
  o.dropout = 0.0;
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
    const auto state = model == "wrn" ? train_wrn(ctx, epochs) : train_mlp(ctx, epochs);
    if (!out.empty()) torch::save(state, out);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
