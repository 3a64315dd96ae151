// Probe: StyleGAN2 (plugins/stylegan2) trained through its own fit() on a seeded toy set of 8x8
// labelled images: mirror flips, ADA (p adjusted after step 4, from the sign statistics summed
// over the ranks), lazy R1 every step (r1_interval 1), random per-layer noise, generator EMA.
// Returns G's and D's parameters and buffers, their last gradients (G: the G step's, D: the R1
// step's, both summed over the ranks), ADA's p and a few samples of the EMA generator drawn after
// training with random noise (so the ranks' generators must have stayed in the same state).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <torch/torch.h>

#include "context_impl.hpp"
#include "presets.hpp"
#include "probes.hpp"
#include "stylegan2.hpp"
#include "tolerance.hpp"

namespace panoramia::probes {
namespace {

std::vector<at::Tensor> train_stylegan2(Context& outer, std::int64_t steps,
                                        const std::string& mbstd_group) {
  std::map<std::string, std::string> values;
  const auto specs = stylegan2::stylegan2_options();
  for (const auto& s : specs) values[s.name] = s.default_value;
  constexpr std::int64_t kBatch = 8;
  const std::map<std::string, std::string> tiny = {
      {"preset", "tiny"},
      {"kimg", std::to_string(double(steps * kBatch) / 1000.0)},
      {"batch_size", std::to_string(kBatch)},
      {"z_dim", "16"},
      {"w_dim", "16"},
      {"channel_base", "128"},
      {"channel_max", "16"},
      {"mbstd_group", mbstd_group},
      {"r1_interval", "1"},
      // Adam (betas 0, 0.99) steps are lr·g/√v̂: where a gradient is zero up to rounding, two
      // summation orders differ by whole steps; a small lr keeps that drift (adam_drift_bound)
      // small for the samples and gradients that follow the weights.
      {"lr", "1e-6"},
      {"ada", "true"},
      {"ada_target", "0"},
      {"ada_kimg", "0.1"},  // p moves by 0.32 at the adjustment after step 4
      {"mirror", "true"},
      {"resume", "false"},
      {"noise_mode", "random"},
      {"quantize", "false"},  // 8-bit rounding would turn last-bit differences into 1/255
      {"grid_per_class", "2"}};
  for (const auto& [k, v] : tiny) values[k] = v;
  // A work directory of this process's own (fit writes a snapshot and the PNG grids there).
  const auto dir =
      std::filesystem::temp_directory_path() / ("probe-stylegan2-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  HostContext ctx(OptionValues(specs, values), outer.logger(), 31, dir, torch::kCPU,
                  &outer.communicator());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(32);
  Batch train;
  train.y = torch::arange(16, torch::kInt64) % 3;
  train.x = (torch::rand({16, 1, 8, 8}, gen) * 0.3 +
             (train.y.to(torch::kFloat32) / 3).view({16, 1, 1, 1}))
                .clamp(0, 1);
  train.modality = "image";
  stylegan2::StyleGan2 gan;
  gan.fit(train, ctx);
  // Tolerances (tolerance.hpp). Adam with betas 0 and 0.99 (G's, with lazy regularisation, lr
  // and β2 scaled by 1/2: the bounds take the larger), ≤ 2 steps an iteration (D's main and R1
  // steps) at lr ≤ 1e-6:
  //  - weights: tight, Adam's rounding bound with ρ = 2·γ·u·κ, γ ≈ 2000 roundings along a path
  //    (mapping layers, modulated 3x3 convolutions of 16 channels and their demodulation sums,
  //    resampling, R1's double backward) and κ ≲ 20; hard, the drift bound (~6e-5); one element
  //    per 1e4 allowed beyond tight.
  //  - buffers (w_avg, the constant noise), the last summed gradients and the samples: ρ of their
  //    magnitude (their own rounding; the weights they follow differ by ≲ 1e-5 of a step).
  //  - ADA's p and the labels: exact (p sums signs of D's outputs; one within rounding of 0 would
  //    flip it, ~1e-6 per output).
  // A gradient not summed over the ranks or noise drawn per shard moves weights by ~lr a step and
  // samples by ~0.1.
  using namespace panoramia::testing;
  const std::int64_t updates = 2 * steps;
  const double lr = 1e-6, beta2 = 0.99;
  const double drift = std::max(adam_drift_bound(lr, 0, beta2, updates),
                                adam_drift_bound(lr, 0, std::sqrt(beta2), updates));
  const double rho = sum_order_bound(2000, 20);
  auto& tol = probes::tolerances();
  std::vector<at::Tensor> state;
  const auto relative = [&](const at::Tensor& t) {
    state.push_back(t);
    const double b = t.numel() == 0 ? 0.0 : rho * t.abs().max().item<double>();
    tol.push_back({b, b});
  };
  for (auto* net : {static_cast<torch::nn::Module*>(gan.generator().get()),
                    static_cast<torch::nn::Module*>(gan.discriminator().get())}) {
    for (const auto& p : net->parameters()) {
      state.push_back(p.detach().clone());
      const double weight = p.numel() == 0 ? 0.0 : p.abs().max().item<double>();
      tol.push_back({std::max(adam_rounding_bound(lr, 0, beta2, updates, rho, weight),
                              adam_rounding_bound(lr, 0, std::sqrt(beta2), updates, rho, weight)),
                     drift});
    }
    for (const auto& b : net->buffers()) relative(b.detach().clone());
    for (const auto& p : net->parameters())
      relative(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  }
  // The comparison must cover augmented steps (p moved at the adjustment after step 4).
  if (steps > 4 && !(gan.augment_probability() > 0))
    throw std::runtime_error("probe stylegan2: ADA's p stayed 0");
  state.push_back(torch::tensor({gan.augment_probability()}, torch::kFloat64));
  tol.push_back({0, 0});
  const auto s = gan.sample(6, ctx);
  state.push_back(s.x);
  tol.push_back(
      {rho * (1 + s.x.abs().max().item<double>()), rho * (1 + s.x.abs().max().item<double>())});
  state.push_back(s.y.to(torch::kFloat64));
  tol.push_back({0, 0});
  std::int64_t elements = 0;
  for (const auto& t : state) elements += t.numel();
  probes::outliers() = (elements + 9999) / 10000;
  std::filesystem::remove_all(dir);
  return state;
}

// With minibatch-stddev groups of 1 (no coupling of rows) the ranks equal one process.
const Register exact("stylegan2", [](Context& ctx, std::int64_t steps) {
  return train_stylegan2(ctx, steps, "1");
});
// With groups of 4 each rank forms its groups within its shard (as the reference does per GPU):
// the ranks agree with each other but not with one process.
const Register grouped("stylegan2-mbstd", [](Context& ctx, std::int64_t steps) {
  return train_stylegan2(ctx, steps, "4");
});

}  // namespace
}  // namespace panoramia::probes
