#include "random.hpp"

#include <cmath>

#include <torch/torch.h>

namespace panoramia::image {
namespace {

std::int64_t fan_in(const at::Tensor& w) {
  return w.dim() > 1 ? w.numel() / w.size(0) : w.numel();
}

void uniform(at::Tensor t, double bound, at::Generator& g) {
  t.copy_(torch::rand(t.sizes(), g, torch::kFloat32).mul_(2 * bound).sub_(bound));
}

}  // namespace

void default_init(torch::nn::Module& module, at::Generator& g) {
  torch::NoGradGuard guard;
  for (auto& m : module.modules(true)) {
    at::Tensor weight, bias;
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      weight = c->weight;
      bias = c->bias;
    } else if (auto* l = m->as<torch::nn::Linear>()) {
      weight = l->weight;
      bias = l->bias;
    } else if (auto* e = m->as<torch::nn::Embedding>()) {
      e->weight.copy_(torch::randn(e->weight.sizes(), g, torch::kFloat32));
      continue;
    } else {
      continue;
    }
    const double bound = 1.0 / std::sqrt(double(fan_in(weight)));
    uniform(weight, bound, g);
    if (bias.defined()) uniform(bias, bound, g);
  }
}

void kaiming_normal_fan_out(at::Tensor weight, at::Generator& g) {
  torch::NoGradGuard guard;
  const double fan_out =
      double(weight.size(0)) * double(weight.numel() / weight.size(0) / weight.size(1));
  const double std = std::sqrt(2.0 / fan_out);
  weight.copy_(torch::randn(weight.sizes(), g, torch::kFloat32).mul_(std));
}

void trunc_normal(at::Tensor tensor, double std, at::Generator& g) {
  torch::NoGradGuard guard;
  auto values = torch::randn(tensor.sizes(), g, torch::kFloat32);
  // Redraw the (rare) values beyond two standard deviations until none are left.
  for (auto out = values.abs() > 2; out.any().item<bool>(); out = values.abs() > 2)
    values = torch::where(out, torch::randn(values.sizes(), g, torch::kFloat32), values);
  tensor.copy_(values.mul_(std));
}

}  // namespace panoramia::image
