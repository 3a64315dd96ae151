#pragma once
// Per-example gradient clipping for DP-SGD: the sum over a batch of each example's gradient scaled
// to L2 norm at most C (factor min(1, C / (‖g_i‖ + 1e-6)), as Opacus). Two ways to get it:
// - clip_per_example: any module, one example at a time (a backward pass per example);
// - clip_per_example_linear: a torch::nn::Sequential whose layers with parameters are all
//   nn::Linear on [n, d] inputs, vectorised: from each layer's input a_i and output gradient g_i,
//   ‖∇W_i‖² = ‖g_i‖²‖a_i‖² and Σ_i c_i ∇W_i = (c ⊙ G)ᵀ A, so per-example gradients are never
//   materialised.
// Both need a model whose example i's loss depends only on example i (no BatchNorm; see
// reject_batch_norm in dp_sgd.hpp).

#include <functional>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

namespace panoramia::dp {

struct ClippedGradients {
  /// Σ_i clip(∇θ loss_i), one tensor per parameter, aligned with the parameter list of the call.
  std::vector<torch::Tensor> sum;
  /// [n] per-example gradient norms before clipping (float64).
  torch::Tensor norms;
  /// [n] per-example losses at the current parameters (detached).
  torch::Tensor losses;
};

/// Runs the model on inputs `x` and returns the [n] per-example losses for labels `y`.
using ExampleLoss = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& y)>;
/// Maps the output of a layer stack and labels `y` to [n] per-example losses.
using OutputLoss =
    std::function<torch::Tensor(const torch::Tensor& output, const torch::Tensor& y)>;

/// Generic fallback: per-example gradients of `loss` w.r.t. `parameters`, one example at a time.
/// Parameters the loss does not reach get zero gradients. Leaves the parameters' .grad untouched.
ClippedGradients clip_per_example(const std::vector<torch::Tensor>& parameters,
                                  const ExampleLoss& loss, const torch::Tensor& x,
                                  const torch::Tensor& y, double clip_norm);

/// Whether `stack` qualifies for clip_per_example_linear: every layer holding parameters is an
/// nn::Linear (nested modules are not looked into).
bool is_linear_stack(const torch::nn::Sequential& stack);

/// Vectorised clipping for a stack of nn::Linear and parameter-free layers (ReLU, Dropout, ...);
/// `x` must be [n, d]. The result is aligned with `stack->parameters()`. Throws
/// std::invalid_argument when a layer with parameters is not nn::Linear or an input is not 2-D.
ClippedGradients clip_per_example_linear(torch::nn::Sequential& stack, const OutputLoss& loss,
                                         const torch::Tensor& x, const torch::Tensor& y,
                                         double clip_norm);

}  // namespace panoramia::dp
