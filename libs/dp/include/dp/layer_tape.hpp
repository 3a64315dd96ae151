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
// backward pass through the network. Per-example weight gradients are materialised for the
// norms where that costs fewer multiply-adds than the Gram matrices (t·p·q against t²·(p + q), for
// t positions or rows, p output and q input features); a convolution's come from one grouped
// weight-gradient pass (the examples as groups), and within a memory budget they are kept, so the
// weighted sum is one matrix-vector product.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "dp/clipping.hpp"

namespace panoramia::dp {

/// Whether an example's squared weight-gradient norm costs fewer multiply-adds in the Gram form
/// Σ_{t,s} (a_t·a_s)(g_t·g_s) (Li et al. 2022), `rows`²·(`outputs` + `inputs`), than by
/// materialising Σ_t g_t a_tᵀ, `rows`·`outputs`·`inputs`; rows are a 3-D Linear's rows or a
/// convolution's output positions, inputs a convolution's C_in·kh·kw.
inline bool gram_is_cheaper(int64_t rows, int64_t outputs, int64_t inputs) {
  return rows * (outputs + inputs) < outputs * inputs;
}

class LayerTape {
 public:
  /// `per_example_bytes`: how much memory one layer's materialised per-example weight gradients
  /// may take. Within it they are kept from the norms for the weighted sum (a matrix-vector
  /// product then); above it they are computed in chunks of examples and the weighted sum takes a
  /// weight-gradient pass of its own.
  explicit LayerTape(std::size_t per_example_bytes = std::size_t{64} << 20)
      : per_example_bytes_(per_example_bytes) {}

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
  // What the norms computed per layer that the weighted sum reuses: the output gradient; for
  // GroupNorm, each example's Σ_positions g·x̂ and Σ_positions g ([n, C]); for a Conv2d or 3-D
  // Linear whose norms materialised them within the budget, the per-example weight gradients
  // [n, C_out, ...].
  struct Backprop {
    torch::Tensor output_grad, norm_weight_rows, norm_bias_rows, per_example_weight;
  };
  torch::Tensor norms(const torch::Tensor& losses, const std::vector<torch::Tensor>& parameters,
                      bool retain_graph, std::vector<Backprop>* keep) const;
  // The layer's weight and bias (either may be undefined).
  static std::pair<const torch::Tensor*, const torch::Tensor*> weight_and_bias(const Entry& e);
  std::size_t per_example_bytes_;
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
