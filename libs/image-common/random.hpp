#pragma once
// Seeded parameter initialisation for model code, drawn from the plugin's generator
// (ctx.generator()) instead of LibTorch's global one, so that the same config and seed give the
// same numbers however the run was resumed. Dropout: `scoped_dropout` in
// panoramia/data_parallel.hpp.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace panoramia::image {

/// Draws every Conv/Linear/Embedding parameter of `module` (recursively) as LibTorch's defaults do
/// (uniform in +-1/sqrt(fan_in); embeddings N(0,1)) but from `generator`; norms get ones/zeros.
void default_init(torch::nn::Module& module, at::Generator& generator);

/// Kaiming-normal for ReLU networks with fan-out mode, from `generator`.
void kaiming_normal_fan_out(at::Tensor weight, at::Generator& generator);
/// N(0, std^2) truncated to +-2 std, from `generator`.
void trunc_normal(at::Tensor tensor, double std, at::Generator& generator);

}  // namespace panoramia::image
