// The tabular GAN (CTGAN) trained through Ctgan::fit on a seeded toy table: generator (with
// synchronised BatchNorm) and discriminator each data-parallel, shards of whole PacGAN groups
// (7 groups of 5 rows: 4 + 3 groups on two ranks). Returns both networks' parameters, the
// generator's BatchNorm buffers and rows sampled after training (so the ranks' random generators
// are checked to have stayed in step, and one draw after them checks it exactly).
#include <algorithm>
#include <map>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ctgan.hpp"
#include "probes.hpp"
#include "tolerance.hpp"

using namespace panoramia;

namespace {

// Two continuous columns (one bimodal) and two categorical ones, at unit scale.
Batch toy_table(std::int64_t n) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(21);
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"a", ColumnKind::kContinuous, {}},
                     {"b", ColumnKind::kContinuous, {}},
                     {"c", ColumnKind::kCategorical, {"x", "y", "z"}},
                     {"d", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 3;
  const auto c = torch::multinomial(torch::tensor({0.5, 0.3, 0.2}), n, true, g).to(torch::kFloat64);
  const auto first = torch::rand({n}, g, torch::kFloat64) < 0.4;
  const auto a = torch::where(first, -1.0 + 0.3 * torch::randn({n}, g, torch::kFloat64),
                              1.0 + 0.5 * torch::randn({n}, g, torch::kFloat64));
  const auto b = torch::rand({n}, g, torch::kFloat64);
  const auto d = (a + 0.3 * c > 0.5).to(torch::kFloat64);
  Batch t;
  t.x = torch::stack({a, b, c, d}, 1);
  t.y = d.to(torch::kInt64);
  t.modality = "tabular";
  t.schema = schema;
  return t;
}

// Tolerances (tolerance.hpp), per tensor, from the probe's own settings:
//  - The generator's linear biases feed BatchNorm, which removes them: their gradients are zero
//    up to rounding, so their sign is the summation order's, in one process too, and Adam (betas
//    0.5, 0.9) turns that noise into whole steps. Two runs may drift apart there by up to
//    adam_drift_bound (2.7e-4 for 6 steps at lr 2e-5, 6.3e-4 for 12); the running means follow
//    those biases (an average of them over the steps) and get the same bound.
//  - Every other parameter has a real gradient: rounding changes its Adam steps by its relative
//    rounding error ρ ≤ 2·γ·u·κ, with γ ≈ 400 roundings along a path (the batch, sums of ≤ 90
//    terms forward and backward, the penalty's double backward) and κ ≲ 20 (Σ|terms| over the
//    gradient's RMS), so ρ ≈ 1e-3, plus one rounding of the weight per step (adam_rounding_bound:
//    ~1e-6 here: the tight bound). The drift bound stays their hard bound, and one element per 1e4
//    may exceed the tight one (a real gradient that is at the rounding level in some step, as
//    Adam's ε sees it). Any real bug (a gradient not summed over the ranks, BatchNorm statistics
//    of one shard, a step missed) moves most elements by whole Adam steps, ~lr per step (2.4e-4
//    over 12 steps), 200 times the tight bound.
//  - The running variances: float32 batch variances of ≤ 35 rows, within 2·(n + 3)·u·κ of each
//    other (κ ≤ 10 for the ratio E[z²]/Var z), averaged over the steps; the batch counts exactly.
//  - The rows sampled after training depend on each block's (bias - running mean), which may
//    differ by twice the drift bound: sample_bound propagates that through the eval-mode generator
//    by its absolute weights and CTGAN's decoding (4σ of the widest mode), as long as no argmax
//    (mode or category) flips, which needs a margin below that difference.
// The learning rate, 2e-5 (CTGAN's is 2e-4), keeps the drift of the bias-noise tensors small
// enough for the samples' argmaxes to hold, while the other weights still move by ~lr per step.
constexpr double kLr = 2e-5, kBeta1 = 0.5, kBeta2 = 0.9;

// The largest change of the rows sampled in eval mode when each block's bias and running mean
// each change by at most `shift` and nothing else does (ReLU and tanh are 1-Lipschitz).
double sample_bound(tabular_gan::Ctgan& gan, double shift) {
  torch::NoGradGuard guard;
  std::map<std::string, at::Tensor> p;
  for (const auto& kv : gan.generator_net()->named_parameters()) p[kv.key()] = kv.value();
  for (const auto& kv : gan.generator_net()->named_buffers()) p[kv.key()] = kv.value();
  const auto abs = [&](const std::string& name) { return p.at(name).abs().to(torch::kFloat64); };
  auto dx = torch::zeros({p.at("blocks.0.fc.weight").size(1)}, torch::kFloat64);
  for (int k = 0; p.count("blocks." + std::to_string(k) + ".fc.weight"); ++k) {
    const std::string b = "blocks." + std::to_string(k);
    const auto dz = torch::mv(abs(b + ".fc.weight"), dx) + 2 * shift;
    const auto gain = abs(b + ".bn.weight") / (abs(b + ".bn.running_var") + 1e-5).sqrt();
    dx = torch::cat({gain * dz, dx});  // the block's output is cat(relu(bn(fc(x))), x)
  }
  const double out = torch::mv(abs("out.weight"), dx).max().item<double>();
  double sigma = 0;
  for (const auto& g : gan.transformer().mixtures())
    for (const double s : g.stds) sigma = std::max(sigma, s);
  return 4 * sigma * out;
}

std::vector<at::Tensor> train_ctgan(Context& ctx, std::int64_t epochs, std::int64_t batch) {
  tabular_gan::CtganOptions o;
  o.embedding_dim = 8;
  o.generator_dim = {16, 16};
  o.discriminator_dim = {16, 16};
  o.batch_size = batch;
  o.pac = 5;
  o.epochs = epochs;
  o.steps_per_epoch = 3;
  o.generator_lr = o.discriminator_lr = kLr;
  o.gmm.components = 3;
  tabular_gan::Ctgan gan(o);
  gan.fit(toy_table(140), ctx);
  using namespace panoramia::testing;
  const std::int64_t steps = epochs * o.steps_per_epoch * o.discriminator_steps;
  const double drift = adam_drift_bound(kLr, kBeta1, kBeta2, steps);
  const double rho = sum_order_bound(400, 20);
  std::vector<at::Tensor> state;
  auto& tol = probes::tolerances();
  tol.clear();
  const auto adam = [&](const at::Tensor& p, bool noise) {
    state.push_back(p.detach().clone());
    const double tight =
        adam_rounding_bound(kLr, kBeta1, kBeta2, steps, rho, p.abs().max().item<double>());
    tol.push_back({noise ? drift : tight, drift});
  };
  for (const auto& kv : gan.generator_net()->named_parameters())
    adam(kv.value(), kv.key().find(".fc.bias") != std::string::npos);
  for (const auto& kv : gan.generator_net()->named_buffers()) {
    const auto& b = kv.value();
    state.push_back(b.detach().to(torch::kFloat64));
    const double variance = sum_order_bound(batch + 3, 10) * b.abs().max().item<double>();
    if (kv.key().find("running_mean") != std::string::npos)
      tol.push_back({drift + variance, drift + variance});
    else if (kv.key().find("running_var") != std::string::npos)
      tol.push_back({variance, variance});
    else
      tol.push_back({0, 0});  // num_batches_tracked
  }
  for (const auto& p : gan.discriminator_net()->parameters()) adam(p, false);
  // Rows sampled after training: equal on the ranks only if their random generators stayed in
  // step through training; one draw after them checks the generators' states exactly.
  const double samples = sample_bound(gan, drift);
  state.push_back(gan.sample(8, ctx.generator()));
  tol.push_back({samples, samples});
  state.push_back(torch::rand({4}, ctx.generator(), torch::kFloat64));
  tol.push_back({0, 0});
  // Elements of real gradients that happen to be at the rounding level in some step (as Adam's ε
  // sees them) may drift like the noise tensors: a few per 1e4 elements.
  std::int64_t elements = 0;
  for (const auto& t : state) elements += t.numel();
  probes::outliers() = (elements + 9999) / 10000;
  return state;
}

// 35 rows = 7 pac groups: 4 + 3 groups on two ranks.
const probes::Register r("ctgan", [](Context& ctx, std::int64_t epochs) {
  return train_ctgan(ctx, epochs, 35);
});
// One pac group: rank 1's shard is empty (it still joins every all-reduce).
const probes::Register r_one("ctgan_one_group", [](Context& ctx, std::int64_t epochs) {
  return train_ctgan(ctx, epochs, 5);
});

}  // namespace
