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

  /// Data-parallel training: the next forward passes see rows [begin, end) of a global batch of
  /// `global` rows. Each dropout mask is then drawn for the whole global batch (as one process
  /// draws it) and this rank keeps its rows, so every rank's generator stays in step with the
  /// others and the masks equal the one-process ones.
  void shard(std::int64_t global, std::int64_t begin, std::int64_t end);

 private:
  struct State {
    at::Generator* generator = nullptr;
    std::int64_t global = -1, begin = 0, end = 0;
  };
  State previous_;
  friend at::Tensor seeded_dropout(const at::Tensor& x, double p, bool training);
  static State& current();
};

/// Inverted dropout; the mask comes from the innermost GeneratorScope's generator (LibTorch's
/// global generator outside any scope), drawn for the scope's global batch when it has one (dim 0
/// of `x` must then be this rank's rows). Identity when not training or p == 0.
at::Tensor seeded_dropout(const at::Tensor& x, double p, bool training);

/// Draws every Conv/Linear/Embedding parameter of `module` (recursively) as LibTorch's defaults do
/// (uniform in +-1/sqrt(fan_in); embeddings N(0,1)) but from `generator`; norms get ones/zeros.
void default_init(torch::nn::Module& module, at::Generator& generator);

/// Kaiming-normal for ReLU networks with fan-out mode, from `generator`.
void kaiming_normal_fan_out(at::Tensor weight, at::Generator& generator);
/// N(0, std^2) truncated to +-2 std, from `generator`.
void trunc_normal(at::Tensor tensor, double std, at::Generator& generator);

}  // namespace panoramia::image
