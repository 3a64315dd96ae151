// Probes: DP-SGD training split across the ranks. Every rank draws the same Poisson batch, clips
// its share of the examples, and the clipped sums are added before the noise (drawn alike on every
// rank). The MLP uses vectorised Linear clipping; the tiny WRN (GroupNorm, dropout) uses the layer
// tape with physical chunks of 5, so some chunks leave one rank an empty share.
#include <torch/torch.h>

#include "../../plugins/mlp/dp_training.hpp"
#include "../../plugins/mlp/network.hpp"
#include "dp_classifier.hpp"
#include "probes.hpp"
#include "wide_resnet.hpp"

namespace panoramia::probes {
namespace {

std::vector<at::Tensor> mlp_dp(Context& ctx, std::int64_t epochs) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(31);
  const auto x = torch::randn({120, 6}, g);
  const auto y = (x.narrow(1, 0, 2).sum(1) > 0).to(torch::kFloat32);
  torch::manual_seed(7);
  mlp::MlpOptions o;
  o.inputs = 6;
  o.hidden = {16};
  mlp::Mlp net(o);
  mlp::DpTrainOptions t;
  t.base.epochs = epochs;
  t.base.batch_size = 30;
  t.noise_multiplier = 0.8;
  t.clip_norm = 0.5;
  t.lr = 0.2;
  mlp::DpReport report;
  mlp::train_dp(net, x, y, {}, {}, t, ctx, report);
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) state.push_back(p.detach().clone());
  state.push_back(torch::tensor({report.epsilon}, torch::kFloat64));
  return state;
}

std::vector<at::Tensor> wrn_dp(Context& ctx, std::int64_t epochs) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(32);
  Batch train;
  train.x = torch::rand({40, 1, 8, 8}, g);
  train.y = torch::randint(0, 3, {40}, g);
  train.modality = "image";
  wrn::WideResNetOptions o;
  o.depth = 10;
  o.width = 1;
  o.dropout = 0.3;
  o.in_channels = 1;
  o.classes = 3;
  o.norm = "group";
  o.groups = 4;
  wrn::WideResNet net(o);
  auto init = at::make_generator<at::CPUGeneratorImpl>(33);
  net->reset_parameters(init);
  image::ClassifierRecipe recipe;
  recipe.epochs = epochs;
  recipe.batch_size = 16;  // expected Poisson batch
  recipe.optimizer.schedule = "constant";
  recipe.optimizer.name = "sgd";
  recipe.optimizer.lr = 0.5;
  dp::DpOptions options;
  options.noise_multiplier = 0.5;
  options.clip_norm = 1.0;
  options.physical_batch = 5;
  image::DpReport report;
  auto* raw = net.get();
  const image::TapedForward taped = [raw](const torch::Tensor& x, dp::LayerTape& tape) {
    return raw->forward(x, &tape);
  };
  image::train_dp(*net, image::Normalization{}, train, Batch{}, recipe, options, ctx, report,
                  "probe wrn", taped);
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) state.push_back(p.detach().clone());
  return state;
}

const Register mlp_registered("mlp-dp", mlp_dp);
const Register wrn_registered("wrn-dp", wrn_dp);

}  // namespace
}  // namespace panoramia::probes
