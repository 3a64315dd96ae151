#pragma once
// Seeded randomness for model code: parameter initialisation and dropout drawn from the plugin's
// generator (ctx.generator()) instead of LibTorch's global one, so that the same config and seed
// give the same numbers however the run was resumed.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace panoramia::image {

/// While alive, `seeded_dropout` on this thread draws from `generator` (a CPU generator).
class GeneratorScope {
 public:
  explicit GeneratorScope(at::Generator& generator);
  ~GeneratorScope();
  GeneratorScope(const GeneratorScope&) = delete;
  GeneratorScope& operator=(const GeneratorScope&) = delete;

 private:
  at::Generator* previous_;
};

/// Inverted dropout; the mask comes from the innermost GeneratorScope's generator (LibTorch's
/// global generator outside any scope). Identity when not training or p == 0.
at::Tensor seeded_dropout(const at::Tensor& x, double p, bool training);

/// Draws every Conv/Linear/Embedding parameter of `module` (recursively) as LibTorch's defaults do
/// (uniform in +-1/sqrt(fan_in); embeddings N(0,1)) but from `generator`; norms get ones/zeros.
void default_init(torch::nn::Module& module, at::Generator& generator);

/// Kaiming-normal for ReLU networks with fan-out mode, from `generator`.
void kaiming_normal_fan_out(at::Tensor weight, at::Generator& generator);
/// N(0, std^2) truncated to +-2 std, from `generator`.
void trunc_normal(at::Tensor tensor, double std, at::Generator& generator);

}  // namespace panoramia::image
