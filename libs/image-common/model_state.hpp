#pragma once
// Deep copies of a module's parameters and buffers (to keep the "best" and "final" states of a
// training run) and their serialisation under a key prefix.

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

namespace panoramia::image {

/// Named tensors in the module's parameter-then-buffer order.
using ModelState = std::vector<std::pair<std::string, at::Tensor>>;

/// A detached copy of every parameter and buffer of `module`, on the CPU.
ModelState copy_state(const torch::nn::Module& module);
/// Copies `state` into `module` (names must match; throws naming the first that does not).
void restore_state(torch::nn::Module& module, const ModelState& state);

void write_state(torch::serialize::OutputArchive& archive, const std::string& prefix,
                 const ModelState& state);
/// Reads the state saved under `prefix` for the tensors `module` has (same names).
ModelState read_state(torch::serialize::InputArchive& archive, const std::string& prefix,
                      const torch::nn::Module& module);

/// Number of scalar parameters (all, or only those that require gradients).
std::int64_t count_parameters(const torch::nn::Module& module, bool trainable_only = false);

}  // namespace panoramia::image
