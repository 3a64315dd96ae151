// Probes: DP-SGD training split across the ranks. Every rank draws the same Poisson batch, clips
// its share of the examples, and the clipped sums are added before the noise (drawn alike on every
// rank). The MLP uses vectorised Linear clipping; the tiny WRN (GroupNorm, dropout) uses the layer
// tape with physical chunks of 5, so some chunks leave one rank an empty share.
#include <torch/torch.h>

#include "../../plugins/mlp/dp_training.hpp"
#include "dp_classifier.hpp"
#include "probes.hpp"
#include "tolerance.hpp"
#include "toy_tasks.hpp"
#include "wide_resnet.hpp"

namespace panoramia::probes {
namespace {

std::vector<at::Tensor> mlp_dp(Context& ctx, std::int64_t epochs) {
  auto [x, y, net] = toy_mlp(31, 120, 6, 2, 7, {16});
  mlp::DpTrainOptions t;
  t.base.epochs = epochs;
  t.base.batch_size = 30;
  t.noise_multiplier = 0.8;
  t.clip_norm = 0.5;
  t.lr = 0.2;
  mlp::DpReport report;
  mlp::train_dp(net, x, y, {}, {}, t, ctx, report);
  // Plain SGD (lr 0.2), 4 steps an epoch, on (Σ_i clip(g_i) + noise) / 30: the noise is drawn
  // alike, so only the clipped sums' rounding differs, ρ = 2·γ·u·κ with γ ≈ 300 roundings along a
  // path (≤ 120 examples, the norm's 129 squares, the 6-, 16-term dot products both ways) and
  // κ ≲ 10, of a gradient scale G taken as twice the largest element of the last step's
  // gradient (sgd_rounding_bound). The accountant's ε is float64 of the same inputs: exact. Noise
  // drawn on each rank, or a clipped share left out, moves weights by ≥ lr·σC/30 ≈ 3e-3 a step.
  using namespace panoramia::testing;
  const double rho = sum_order_bound(300, 10);
  const std::int64_t steps = epochs * 4;
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) {
    state.push_back(p.detach().clone());
    const double gradient = p.grad().defined() ? 2 * p.grad().abs().max().item<double>() : 0.0;
    const double bound =
        sgd_rounding_bound(t.lr, 0, steps, rho, gradient, p.abs().max().item<double>());
    probes::tolerances().push_back({bound, bound});
  }
  state.push_back(torch::tensor({report.epsilon}, torch::kFloat64));
  probes::tolerances().push_back({0, 0});
  return state;
}

std::vector<at::Tensor> wrn_dp(Context& ctx, std::int64_t epochs) {
  const Batch train = noise_images(32, 40, 8);
  auto o = tiny_wrn_options();
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
  // SGD, momentum 0.9 (the recipe's), lr 0.5, 3 steps an epoch, on the clipped sums plus noise
  // drawn alike: ρ = 2·γ·u·κ with γ ≈ 2000 roundings along a path (≤ 40 examples; the norms'
  // float32 sums, ATen's cascade sums of ≤ 36864 squares: ~64 terms' worth; 3x3 convolutions with
  // K ≤ 576 and GroupNorm over ≤ 1024 values both ways) and κ ≲ 10, of a gradient scale G taken as
  // twice the largest element of the last step's gradient (sgd_rounding_bound). Noise drawn on
  // each rank or a clipped share left out moves weights by ≥ lr·σC/16 ≈ 0.016 a step.
  using namespace panoramia::testing;
  const double rho = sum_order_bound(2000, 10);
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) {
    state.push_back(p.detach().clone());
    const double bound =
        sgd_parameter_bound(p, recipe.optimizer.lr, recipe.optimizer.momentum, epochs * 3, rho);
    probes::tolerances().push_back({bound, bound});
  }
  return state;
}

const Register mlp_registered("mlp-dp", mlp_dp);
const Register wrn_registered("wrn-dp", wrn_dp);

}  // namespace
}  // namespace panoramia::probes
