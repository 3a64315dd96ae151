#include "dp/layer_tape.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <torch/torch.h>
#include <panoramia/torch_compat.hpp>

namespace panoramia::dp {
namespace {

namespace F = torch::nn::functional;

std::string shape(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

// Each example's Σ_{t,s} (a_t·a_s)(g_t·g_s) = ‖Σ_t g_t a_tᵀ‖², for G [n, t, p] and A [n, t, q].
torch::Tensor gram_squared_norms(const torch::Tensor& g, const torch::Tensor& a) {
  const auto aa = torch::bmm(a, a.transpose(1, 2));
  const auto gg = torch::bmm(g, g.transpose(1, 2));
  return (aa * gg).sum({1, 2}).to(torch::kFloat64);
}

// Examples [first, first + count)'s weight gradients [count, C_out, C_in·kh·kw] from the layer's
// inputs `a` and output gradients `g`: the examples become the groups of one grouped convolution
// (their channels side by side in a single image), whose weight gradient is then each example's
// own (Rochette et al. 2019). One pass of the backend's weight-gradient kernel, no im2col copy.
torch::Tensor per_example_conv_weight_grads(const torch::nn::detail::ConvNdOptions<2>& o,
                                            torch::ExpandingArray<2> padding,
                                            const torch::Tensor& a, const torch::Tensor& g,
                                            int64_t first, int64_t count) {
  const auto ai = a.narrow(0, first, count), gi = g.narrow(0, first, count);
  const int64_t c_in = o.in_channels(), c_out = o.out_channels();
  const auto& k = *o.kernel_size();
  // Only its shape is read when no input gradient is asked for.
  const auto weights = torch::zeros({count * c_out, c_in, k[0], k[1]}, a.options());
  const std::vector<int64_t> no_output_padding{0, 0};
  const auto grads = at::convolution_backward(
      gi.reshape({1, count * c_out, gi.size(2), gi.size(3)}),
      ai.reshape({1, count * c_in, ai.size(2), ai.size(3)}), weights, at::OptionalIntArrayRef(),
      *o.stride(), *padding, *o.dilation(), /*transposed=*/false, no_output_padding, count,
      {false, true, false});
  return std::get<1>(grads).view({count, c_out, -1});
}

// Σ_i f_i x_i over the examples of x [n, ...], f [n, 1, ...] (x's dtype): flattened.
torch::Tensor weighted_sum(const torch::Tensor& x, const torch::Tensor& f) {
  const int64_t n = x.size(0);
  return x.reshape({n, -1}).t().mv(f.reshape({n}));
}

}  // namespace

std::pair<const torch::Tensor*, const torch::Tensor*> LayerTape::weight_and_bias(const Entry& e) {
  switch (e.kind) {
    case Kind::kLinear: {
      auto* layer = e.layer->as<torch::nn::LinearImpl>();
      return {&layer->weight, &layer->bias};
    }
    case Kind::kConv2d: {
      auto* layer = e.layer->as<torch::nn::Conv2dImpl>();
      return {&layer->weight, &layer->bias};
    }
    case Kind::kGroupNorm: {
      auto* layer = e.layer->as<torch::nn::GroupNormImpl>();
      return {&layer->weight, &layer->bias};
    }
  }
  throw std::logic_error("unknown layer kind in the tape");
}

torch::Tensor LayerTape::linear(torch::nn::LinearImpl& layer, const torch::Tensor& x) {
  if (x.dim() != 2 && x.dim() != 3)
    throw std::invalid_argument(
        "per-example clipping of a Linear layer needs [n, d] or [n, t, d] "
        "inputs, got " +
        shape(x));
  auto y = layer.forward(x);
  entries_.push_back({Kind::kLinear, &layer, x, y});
  return y;
}

torch::Tensor LayerTape::conv2d(torch::nn::Conv2dImpl& layer, const torch::Tensor& x) {
  const auto& o = layer.options;
  if (o.groups() != 1)
    throw std::invalid_argument("per-example clipping of Conv2d supports groups = 1 only, got " +
                                std::to_string(o.groups()));
  if (!panoramia::torch_compat::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    throw std::invalid_argument("per-example clipping of Conv2d supports zero padding only");
  if (!panoramia::torch_compat::get_if<torch::ExpandingArray<2>>(&o.padding()))
    throw std::invalid_argument(
        "per-example clipping of Conv2d needs explicit padding sizes (not 'same' or 'valid')");
  if (x.dim() != 4)
    throw std::invalid_argument("per-example clipping of Conv2d needs [n, C, H, W] inputs, got " +
                                shape(x));
  auto y = layer.forward(x);
  entries_.push_back({Kind::kConv2d, &layer, x, y});
  return y;
}

torch::Tensor LayerTape::group_norm(torch::nn::GroupNormImpl& layer, const torch::Tensor& x) {
  if (x.dim() < 2)
    throw std::invalid_argument("per-example clipping of GroupNorm needs [n, C, ...] inputs, got " +
                                shape(x));
  auto y = layer.forward(x);
  entries_.push_back({Kind::kGroupNorm, &layer, x, y});
  return y;
}

bool LayerTape::covers(const torch::Tensor& parameter) const {
  const auto* impl = parameter.unsafeGetTensorImpl();
  for (const auto& e : entries_)
    for (const auto& p : e.layer->parameters(/*recurse=*/false))
      if (p.unsafeGetTensorImpl() == impl) return true;
  return false;
}

torch::Tensor LayerTape::squared_norms(const torch::Tensor& losses,
                                       const std::vector<torch::Tensor>& parameters) const {
  return norms(losses, parameters, /*retain_graph=*/true, nullptr);
}

torch::Tensor LayerTape::squared_norms_keeping_backprops(
    const torch::Tensor& losses, const std::vector<torch::Tensor>& parameters, bool retain_graph) {
  backprops_.clear();
  return norms(losses, parameters, retain_graph, &backprops_);
}

torch::Tensor LayerTape::norms(const torch::Tensor& losses,
                               const std::vector<torch::Tensor>& parameters, bool retain_graph,
                               std::vector<Backprop>* keep) const {
  if (entries_.empty()) throw std::invalid_argument("the layer tape recorded no layer");
  const int64_t n = entries_.front().input.size(0);
  if (losses.dim() != 1 || losses.size(0) != n)
    throw std::invalid_argument("per-example clipping needs one loss per example ([" +
                                std::to_string(n) + "]), got " + shape(losses));
  std::set<const torch::nn::Module*> seen;
  for (const auto& e : entries_)
    if (!seen.insert(e.layer).second)
      throw std::invalid_argument("layer " + e.layer->name() +
                                  " was recorded twice in one forward pass (shared weights); "
                                  "use the per-example loop (clip_per_example)");
  std::set<const void*> wanted;
  for (const auto& p : parameters)
    if (p.requires_grad()) wanted.insert(p.unsafeGetTensorImpl());
  const auto in = [&](const torch::Tensor& p) {
    return p.defined() && wanted.count(p.unsafeGetTensorImpl()) != 0;
  };

  std::vector<torch::Tensor> outputs;
  for (const auto& e : entries_) outputs.push_back(e.output);
  // Row i of d(Σ loss)/d(output) is example i's own output gradient: examples do not interact.
  const auto backprops = torch::autograd::grad({losses.sum()}, outputs, {}, retain_graph,
                                               /*create_graph=*/false, /*allow_unused=*/true);
  if (keep != nullptr) keep->assign(entries_.size(), Backprop{});

  torch::NoGradGuard guard;
  auto squared = torch::zeros({n}, torch::kFloat64);
  const auto fits = [&](const torch::Tensor& t) {
    return t.numel() * static_cast<int64_t>(t.element_size()) <=
           static_cast<int64_t>(per_example_bytes_);
  };
  for (size_t k = 0; k < entries_.size(); ++k) {
    const auto& e = entries_[k];
    if (!backprops[k].defined()) continue;  // the loss does not reach this layer
    const auto a = e.input.detach();
    const auto g = backprops[k];
    if (keep != nullptr) (*keep)[k].output_grad = g;
    torch::Tensor weight_sq, bias_sq;
    const auto [weight, bias] = weight_and_bias(e);
    switch (e.kind) {
      case Kind::kLinear: {
        if (a.dim() == 2) {
          weight_sq = (g.pow(2).sum(1) * a.pow(2).sum(1)).to(torch::kFloat64);
          bias_sq = g.pow(2).sum(1).to(torch::kFloat64);
        } else {
          const int64_t rows = a.size(1), p = g.size(2), q = a.size(2);
          if (gram_is_cheaper(rows, p, q)) {
            weight_sq = gram_squared_norms(g, a);
          } else {
            const auto per_example = torch::bmm(g.transpose(1, 2), a);
            weight_sq = per_example.pow(2).sum({1, 2}).to(torch::kFloat64);
            if (keep != nullptr && fits(per_example)) (*keep)[k].per_example_weight = per_example;
          }
          bias_sq = g.sum(1).pow(2).sum(1).to(torch::kFloat64);
        }
        break;
      }
      case Kind::kConv2d: {
        auto* layer = e.layer->as<torch::nn::Conv2dImpl>();
        const auto& o = layer->options;
        const auto& padding =
            *panoramia::torch_compat::get_if<torch::ExpandingArray<2>>(&o.padding());
        const auto go = g.flatten(2);
        const int64_t positions = go.size(2), p = go.size(1), q = weight->numel() / p;
        if (gram_is_cheaper(positions, p, q)) {
          // im2col: example i's weight gradient is G_i A_iᵀ with A_i [C_in·k², L], G_i [C_out, L].
          const auto cols = F::unfold(a, F::UnfoldFuncOptions(o.kernel_size())
                                             .dilation(o.dilation())
                                             .padding(padding)
                                             .stride(o.stride()));
          weight_sq = gram_squared_norms(go.transpose(1, 2), cols.transpose(1, 2));
        } else {
          // In chunks of examples whose gradients fit the budget; kept when one chunk is all.
          const int64_t bytes = p * q * static_cast<int64_t>(a.element_size());
          const int64_t chunk =
              std::max<int64_t>(1, static_cast<int64_t>(per_example_bytes_) / bytes);
          std::vector<torch::Tensor> parts;
          for (int64_t first = 0; first < n; first += chunk) {
            const auto per_example =
                per_example_conv_weight_grads(o, padding, a, g, first, std::min(chunk, n - first));
            parts.push_back(per_example.pow(2).sum({1, 2}).to(torch::kFloat64));
            if (keep != nullptr && chunk >= n) (*keep)[k].per_example_weight = per_example;
          }
          weight_sq = torch::cat(parts);
        }
        bias_sq = go.sum(2).pow(2).sum(1).to(torch::kFloat64);
        break;
      }
      case Kind::kGroupNorm: {
        auto* layer = e.layer->as<torch::nn::GroupNormImpl>();
        const auto& o = layer->options;
        // y = γ x̂ + β per channel: ∂γ_c = Σ_positions g x̂, ∂β_c = Σ_positions g.
        const auto xhat =
            F::group_norm(a, F::GroupNormFuncOptions(o.num_groups()).eps(o.eps())).flatten(2);
        const auto gf = g.flatten(2);
        const auto weight_rows = (gf * xhat).sum(2), bias_rows = gf.sum(2);
        weight_sq = weight_rows.pow(2).sum(1).to(torch::kFloat64);
        bias_sq = bias_rows.pow(2).sum(1).to(torch::kFloat64);
        if (keep != nullptr) {
          (*keep)[k].norm_weight_rows = weight_rows;
          (*keep)[k].norm_bias_rows = bias_rows;
        }
        break;
      }
    }
    if (in(*weight)) squared += weight_sq.cpu();
    if (in(*bias)) squared += bias_sq.cpu();
  }
  return squared;
}

std::vector<torch::Tensor> LayerTape::weighted_gradients(
    const torch::Tensor& factors, const std::vector<torch::Tensor>& parameters) const {
  if (backprops_.size() != entries_.size())
    throw std::logic_error(
        "weighted_gradients needs the output gradients kept by "
        "squared_norms_keeping_backprops");
  torch::NoGradGuard guard;
  std::map<const void*, torch::Tensor> sums;  // by parameter
  for (size_t k = 0; k < entries_.size(); ++k) {
    const auto& e = entries_[k];
    const auto& b = backprops_[k];
    if (!b.output_grad.defined()) continue;  // the losses do not reach this layer
    const auto& g = b.output_grad;
    const int64_t n = g.size(0);
    // Each example's rows scaled by its factor: Σ_i f_i ∇loss_i is then what an ordinary backward
    // pass computes for the layer's parameters from these inputs and output gradients.
    std::vector<int64_t> shape(static_cast<size_t>(g.dim()), 1);
    shape[0] = n;
    const auto f = factors.to(g.device(), g.scalar_type()).view(shape);
    const auto a = e.input.detach();
    torch::Tensor weight_grad, bias_grad;
    const auto [weight, bias] = weight_and_bias(e);
    switch (e.kind) {
      case Kind::kLinear: {
        const auto gs = (g * f).reshape({-1, g.size(-1)});
        weight_grad = b.per_example_weight.defined() ? weighted_sum(b.per_example_weight, f)
                                                     : gs.t().mm(a.reshape({-1, a.size(-1)}));
        bias_grad = gs.sum(0);
        break;
      }
      case Kind::kConv2d: {
        if (b.per_example_weight.defined()) {
          weight_grad = weighted_sum(b.per_example_weight, f);
          if (bias->defined()) bias_grad = weighted_sum(g.sum({2, 3}), f);
          break;
        }
        auto* layer = e.layer->as<torch::nn::Conv2dImpl>();
        const auto& o = layer->options;
        const auto& padding =
            *panoramia::torch_compat::get_if<torch::ExpandingArray<2>>(&o.padding());
        const bool with_bias = layer->bias.defined();
        const std::vector<int64_t> bias_sizes{o.out_channels()};
        const std::vector<int64_t> no_output_padding{0, 0};
        auto grads = at::convolution_backward(
            g * f, a, layer->weight,
            with_bias ? at::OptionalIntArrayRef(bias_sizes) : at::OptionalIntArrayRef(),
            *o.stride(), *padding, *o.dilation(), /*transposed=*/false, no_output_padding,
            /*groups=*/1, {false, true, with_bias});
        weight_grad = std::get<1>(grads);
        if (with_bias) bias_grad = std::get<2>(grads);
        break;
      }
      case Kind::kGroupNorm: {
        const auto fc = f.view({n, 1});
        weight_grad = (b.norm_weight_rows * fc).sum(0);
        bias_grad = (b.norm_bias_rows * fc).sum(0);
        break;
      }
    }
    if (weight->defined()) sums[weight->unsafeGetTensorImpl()] = weight_grad;
    if (bias->defined() && bias_grad.defined()) sums[bias->unsafeGetTensorImpl()] = bias_grad;
  }
  std::vector<torch::Tensor> out;
  for (const auto& p : parameters) {
    const auto it = sums.find(p.unsafeGetTensorImpl());
    out.push_back(p.requires_grad() && it != sums.end() ? it->second.view_as(p).to(p.dtype())
                                                        : torch::zeros_like(p).detach());
  }
  return out;
}

torch::Tensor record(LayerTape* tape, torch::nn::Conv2dImpl& layer, const torch::Tensor& x) {
  return tape ? tape->conv2d(layer, x) : layer.forward(x);
}

torch::Tensor record(LayerTape* tape, torch::nn::LinearImpl& layer, const torch::Tensor& x) {
  return tape ? tape->linear(layer, x) : layer.forward(x);
}

torch::Tensor record(LayerTape* tape, torch::nn::GroupNormImpl& layer, const torch::Tensor& x) {
  return tape ? tape->group_norm(layer, x) : layer.forward(x);
}

ClippedGradients clip_per_example_tape(const std::vector<torch::Tensor>& parameters,
                                       LayerTape& tape, const torch::Tensor& losses,
                                       double clip_norm) {
  if (!(clip_norm > 0.0))
    throw std::invalid_argument("the clipping norm must be > 0, got " + std::to_string(clip_norm));
  for (size_t k = 0; k < parameters.size(); ++k) {
    const auto& p = parameters[k];
    if (p.requires_grad() && !tape.covers(p))
      throw std::invalid_argument("parameter " + std::to_string(k) + " " + shape(p) +
                                  " belongs to no layer the tape recorded, so its share of the "
                                  "per-example gradient norm would be missed");
  }
  ClippedGradients out;
  out.norms = tape.squared_norms_keeping_backprops(losses, parameters).sqrt();
  out.losses = losses.detach();
  const auto factors = (clip_norm / (out.norms + 1e-6)).clamp_max(1.0);
  out.sum = tape.weighted_gradients(factors, parameters);
  return out;
}

}  // namespace panoramia::dp
