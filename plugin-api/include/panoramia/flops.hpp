#pragma once
/// Estimates of the work of one step of a loop, for `Context::loop_threads`.

#include <cstdint>

#include <torch/nn/module.h>

namespace panoramia {

/// The parameters (scalars) of `module` and of its submodules.
inline double parameter_count(const torch::nn::Module& module) {
  double n = 0;
  for (const auto& p : module.parameters()) n += static_cast<double>(p.numel());
  return n;
}

/// Floating-point operations of one training step of a network whose every weight is used once
/// per example (Linear layers, token-wise transformer blocks per token): 2 per weight and example
/// forward, 4 backward (gradients for inputs and for weights). For a transformer pass the tokens
/// of a step as `examples`; convolutions reuse their weights at every position and cost more.
inline double dense_training_flops(const torch::nn::Module& module, std::int64_t examples) {
  return 6.0 * parameter_count(module) * static_cast<double>(examples);
}

}  // namespace panoramia
