#include "dp/clipping.hpp"

#include <map>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace panoramia::dp {
namespace {

// Opacus' clip factor: min(1, C / (‖g‖ + 1e-6)).
torch::Tensor clip_factors(const torch::Tensor& norms, double clip_norm) {
  return (clip_norm / (norms + 1e-6)).clamp_max(1.0);
}

void check_inputs(const torch::Tensor& x, const torch::Tensor& y, double clip_norm) {
  if (!(clip_norm > 0.0))
    throw std::invalid_argument("the clipping norm must be > 0, got " + std::to_string(clip_norm));
  if (!x.defined() || x.dim() == 0)
    throw std::invalid_argument("per-example clipping needs a batch of inputs [n, ...]");
  if (y.defined() && y.dim() > 0 && y.size(0) != x.size(0))
    throw std::invalid_argument("per-example clipping: " + std::to_string(x.size(0)) +
                                " inputs but " + std::to_string(y.size(0)) + " labels");
}

void check_losses(const torch::Tensor& losses, int64_t n) {
  if (losses.dim() != 1 || losses.size(0) != n)
    throw std::invalid_argument("the per-example loss must return one value per example ([" +
                                std::to_string(n) + "]), got " + std::to_string(losses.dim()) +
                                " dimensions");
}

}  // namespace

ClippedGradients clip_per_example(const std::vector<torch::Tensor>& parameters,
                                  const ExampleLoss& loss, const torch::Tensor& x,
                                  const torch::Tensor& y, double clip_norm) {
  check_inputs(x, y, clip_norm);
  const int64_t n = x.size(0);
  ClippedGradients out;
  for (const auto& p : parameters) out.sum.push_back(torch::zeros_like(p).detach());
  std::vector<double> norms(size_t(n), 0.0);
  std::vector<torch::Tensor> losses;
  for (int64_t i = 0; i < n; ++i) {
    const auto yi = y.defined() && y.dim() > 0 ? y.narrow(0, i, 1) : y;
    const auto li = loss(x.narrow(0, i, 1), yi);
    check_losses(li, 1);
    losses.push_back(li.detach());
    const auto grads = torch::autograd::grad({li.sum()}, parameters, {}, /*retain_graph=*/false,
                                             /*create_graph=*/false, /*allow_unused=*/true);
    torch::NoGradGuard guard;
    double sq = 0.0;
    for (const auto& g : grads)
      if (g.defined()) sq += g.to(torch::kFloat64).pow(2).sum().item<double>();
    norms[size_t(i)] = std::sqrt(sq);
    const double factor = std::min(1.0, clip_norm / (norms[size_t(i)] + 1e-6));
    for (size_t k = 0; k < grads.size(); ++k)
      if (grads[k].defined()) out.sum[k].add_(grads[k], factor);
  }
  out.norms = torch::tensor(norms, torch::kFloat64);
  out.losses = n > 0 ? torch::cat(losses) : torch::zeros({0});
  return out;
}

bool is_linear_stack(const torch::nn::Sequential& stack) {
  for (const auto& layer : *stack) {
    if (layer.ptr()->as<torch::nn::LinearImpl>()) continue;
    if (!layer.ptr()->parameters(/*recurse=*/true).empty()) return false;
  }
  return true;
}

ClippedGradients clip_per_example_linear(torch::nn::Sequential& stack, const OutputLoss& loss,
                                         const torch::Tensor& x, const torch::Tensor& y,
                                         double clip_norm) {
  check_inputs(x, y, clip_norm);
  const int64_t n = x.size(0);
  // Forward layer by layer, keeping each Linear's input (activations) and output.
  std::vector<torch::nn::LinearImpl*> linears;
  std::vector<torch::Tensor> inputs, outputs;
  torch::Tensor h = x;
  size_t index = 0;
  for (auto& layer : *stack) {
    if (auto* linear = layer.ptr()->as<torch::nn::LinearImpl>()) {
      if (h.dim() != 2)
        throw std::invalid_argument(
            "vectorised clipping needs [n, d] inputs to every Linear layer "
            "(layer " +
            std::to_string(index) + " gets " + std::to_string(h.dim()) +
            " dimensions); use clip_per_example");
      linears.push_back(linear);
      inputs.push_back(h);
      h = linear->forward(h);
      outputs.push_back(h);
    } else if (!layer.ptr()->parameters(true).empty()) {
      throw std::invalid_argument(
          "vectorised clipping supports only nn::Linear layers with "
          "parameters, layer " +
          std::to_string(index) + " is " + layer.ptr()->name() + "; use clip_per_example");
    } else {
      h = layer.forward(h);
    }
    ++index;
  }
  const auto losses = loss(h, y);
  check_losses(losses, n);
  // Row i of d(Σ loss)/d(output) is example i's backprop, as examples do not interact.
  const auto backprops = outputs.empty() ? std::vector<torch::Tensor>{}
                                         : torch::autograd::grad({losses.sum()}, outputs);

  torch::NoGradGuard guard;
  auto squared = torch::zeros({n}, x.options().dtype(torch::kFloat64));
  for (size_t l = 0; l < linears.size(); ++l) {
    // ‖g‖²·(‖a‖² + 1 for the bias), the squares summed in float64.
    const auto g2 = backprops[l].square().sum(1, /*keepdim=*/false, torch::kFloat64);
    auto a2 = inputs[l].detach().square().sum(1, /*keepdim=*/false, torch::kFloat64);
    if (linears[l]->bias.defined()) a2.add_(1.0);
    squared.addcmul_(g2, a2);
  }
  ClippedGradients out;
  out.norms = squared.sqrt();
  out.losses = losses.detach();
  const auto factors = clip_factors(out.norms, clip_norm);
  // Summed clipped gradients per parameter, then laid out in stack->parameters() order.
  std::map<const void*, torch::Tensor> by_parameter;
  for (size_t l = 0; l < linears.size(); ++l) {
    const auto scaled = backprops[l] * factors.to(backprops[l].dtype()).unsqueeze(1);
    by_parameter[linears[l]->weight.unsafeGetTensorImpl()] = scaled.t().mm(inputs[l].detach());
    if (linears[l]->bias.defined())
      by_parameter[linears[l]->bias.unsafeGetTensorImpl()] = scaled.sum(0);
  }
  for (const auto& p : stack->parameters()) {
    const auto it = by_parameter.find(p.unsafeGetTensorImpl());
    out.sum.push_back(it != by_parameter.end() ? it->second : torch::zeros_like(p));
  }
  return out;
}

}  // namespace panoramia::dp
