#include "random.hpp"

#include <cmath>

#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace panoramia::image {
namespace {

std::int64_t fan_in(const at::Tensor& w) {
  return w.dim() > 1 ? w.numel() / w.size(0) : w.numel();
}

void uniform(at::Tensor t, double bound, at::Generator& g) {
  t.copy_(torch::rand(t.sizes(), g, torch::kFloat32).mul_(2 * bound).sub_(bound));
}

}  // namespace

GeneratorScope::State& GeneratorScope::current() {
  static thread_local State state;
  return state;
}

GeneratorScope::GeneratorScope(at::Generator& generator) : previous_(current()) {
  current() = State{&generator, -1, 0, 0};
}
GeneratorScope::~GeneratorScope() {
  current() = previous_;
}

void GeneratorScope::shard(std::int64_t global, std::int64_t begin, std::int64_t end) {
  if (begin < 0 || begin > end || end > global)
    throw std::invalid_argument("GeneratorScope::shard: rows [" + std::to_string(begin) + ", " +
                                std::to_string(end) + ") of " + std::to_string(global));
  auto& s = current();
  s.global = global;
  s.begin = begin;
  s.end = end;
}

at::Tensor seeded_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  const auto& s = GeneratorScope::current();
  if (s.generator == nullptr) return torch::dropout(x, p, true);
  at::Tensor keep;
  if (s.global < 0) {
    keep = torch::empty(x.sizes(), torch::kFloat32).bernoulli_(1.0 - p, *s.generator);
  } else {
    if (x.dim() == 0 || x.size(0) != s.end - s.begin)
      throw std::logic_error("seeded_dropout: an input of " + std::to_string(x.size(0)) +
                             " rows in a data-parallel shard of " +
                             std::to_string(s.end - s.begin));
    auto sizes = x.sizes().vec();
    sizes[0] = s.global;
    keep = torch::empty(sizes, torch::kFloat32)
               .bernoulli_(1.0 - p, *s.generator)
               .slice(0, s.begin, s.end);
  }
  return x * keep.to(x.device(), x.scalar_type()).div_(1.0 - p);
}

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
