#pragma once
// Per-example clipping for models beyond a Linear stack, without one backward pass per example
// ("ghost clipping": Goodfellow 2015 for dense layers; Li et al. 2022 and Bu et al. 2022 for
// convolutions). The model's forward pass goes through a LayerTape, which records the input and
// output of every layer call that holds parameters (Linear, Conv2d, GroupNorm). One backward pass
// of Σ loss_i to those outputs gives each example's output gradient (row i belongs to example i
// alone when examples do not interact, so no BatchNorm); each example's parameter-gradient norm
// follows in closed form; the clipped sum Σ c_i ∇loss_i then follows layer by layer from the same
// inputs and output gradients, each example's rows scaled by its clip factor c_i (the weight-
// gradient half of an ordinary backward pass: "book-keeping", Bu et al. 2023), with no second
// backward pass through the network. Per-example gradients are materialised for the norms only
// where that is cheaper than the Gram matrices (a convolution whose C_out·C_in·k² is below 2·L²,
// L output positions).

#include <cstddef>
#include <utility>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "dp/clipping.hpp"

namespace panoramia::dp {

class LayerTape {
 public:
  /// Each runs `layer->forward(x)` and records the call. Throws std::invalid_argument for a layer
  /// the norms cannot be computed for: Linear inputs other than [n, d] or [n, t, d]; Conv2d with
  /// groups, non-zero padding modes or 'same'/'valid' padding; GroupNorm inputs of fewer than 2
  /// dimensions.
  torch::Tensor linear(torch::nn::LinearImpl& layer, const torch::Tensor& x);
  torch::Tensor conv2d(torch::nn::Conv2dImpl& layer, const torch::Tensor& x);
  torch::Tensor group_norm(torch::nn::GroupNormImpl& layer, const torch::Tensor& x);

  /// Forgets every recorded call (call before each forward pass).
  void clear() {
    entries_.clear();
    backprops_.clear();
  }
  std::size_t size() const { return entries_.size(); }

  /// [n] float64: for each example, the squared norm of the gradient of `losses[i]` with respect
  /// to those of `parameters` that recorded layers hold. Keeps the autograd graph. Throws
  /// std::invalid_argument when a layer was recorded twice (shared weights: the per-layer norms
  /// would not add up) or `losses` is not [n] for the recorded batch.
  torch::Tensor squared_norms(const torch::Tensor& losses,
                              const std::vector<torch::Tensor>& parameters) const;

  /// Whether `parameter` belongs to a recorded layer.
  bool covers(const torch::Tensor& parameter) const;

  /// squared_norms, also keeping each layer's output gradients for weighted_gradients; releases
  /// the autograd graph unless `retain_graph`.
  torch::Tensor squared_norms_keeping_backprops(const torch::Tensor& losses,
                                                const std::vector<torch::Tensor>& parameters,
                                                bool retain_graph = false);

  /// Σ_i factors[i]·∇loss_i for each of `parameters` (zeros for those no recorded layer reached
  /// or that do not require gradients), from the inputs and the output gradients the last
  /// squared_norms_keeping_backprops call kept. Throws std::logic_error when none were kept.
  std::vector<torch::Tensor> weighted_gradients(const torch::Tensor& factors,
                                                const std::vector<torch::Tensor>& parameters) const;

 private:
  enum class Kind { kLinear, kConv2d, kGroupNorm };
  struct Entry {
    Kind kind;
    torch::nn::Module* layer;
    torch::Tensor input, output;
  };
  // What the norms computed per layer that the weighted sum reuses: the output gradient and, for
  // GroupNorm, each example's Σ_positions g·x̂ and Σ_positions g ([n, C]).
  struct Backprop {
    torch::Tensor output_grad, norm_weight_rows, norm_bias_rows;
  };
  torch::Tensor norms(const torch::Tensor& losses, const std::vector<torch::Tensor>& parameters,
                      bool retain_graph, std::vector<Backprop>* keep) const;
  // The layer's weight and bias (either may be undefined).
  static std::pair<const torch::Tensor*, const torch::Tensor*> weight_and_bias(const Entry& e);
  std::vector<Entry> entries_;
  std::vector<Backprop> backprops_;
};

/// `tape->conv2d(layer, x)` when recording, `layer.forward(x)` when `tape` is null.
torch::Tensor record(LayerTape* tape, torch::nn::Conv2dImpl& layer, const torch::Tensor& x);
torch::Tensor record(LayerTape* tape, torch::nn::LinearImpl& layer, const torch::Tensor& x);
torch::Tensor record(LayerTape* tape, torch::nn::GroupNormImpl& layer, const torch::Tensor& x);

/// Σ_i min(1, C/(‖g_i‖+1e-6)) g_i for the per-example losses `losses` [n] of a forward pass
/// recorded in `tape`, aligned with `parameters` (which must not have `.grad` set by this call:
/// the result is returned, the parameters' gradients are left untouched). Parameters that do not
/// require gradients get zeros. Throws std::invalid_argument, naming the parameter's position and
/// shape, when a parameter that requires gradients belongs to no recorded layer (its share of the
/// norm would be missed), and for the errors of LayerTape::squared_norms.
ClippedGradients clip_per_example_tape(const std::vector<torch::Tensor>& parameters,
                                       LayerTape& tape, const torch::Tensor& losses,
                                       double clip_norm);

}  // namespace panoramia::dp
