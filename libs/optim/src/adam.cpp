#include "optim/adam.hpp"

#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace panoramia::optim {
namespace {

// The key LibTorch files a parameter's state under: the TensorImpl's address, as a pointer on the
// 2.x line and as its printed form on 1.13 (c10::guts::to_string, an ostream's output).
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream out;
    out << static_cast<const void*>(p.unsafeGetTensorImpl());
    return out.str();
  } else {
    return static_cast<typename Map::key_type>(p.unsafeGetTensorImpl());
  }
}

bool dense_cpu(const torch::Tensor& t, c10::ScalarType dtype) {
  return t.defined() && t.device().is_cpu() && t.layout() == torch::kStrided && t.is_contiguous() &&
         t.scalar_type() == dtype;
}

// Whether the fused pass can update `p`: a dense contiguous float32/float64 CPU tensor whose
// gradient, and moments if it has them yet, are of the same kind.
template <typename State>
bool fusable(const torch::Tensor& p, const State* state) {
  const auto dtype = p.scalar_type();
  if (dtype != torch::kFloat32 && dtype != torch::kFloat64) return false;
  if (!dense_cpu(p, dtype) || !dense_cpu(p.grad(), dtype)) return false;
  return state == nullptr ||
         (dense_cpu(state->exp_avg(), dtype) && dense_cpu(state->exp_avg_sq(), dtype) &&
          state->exp_avg().numel() == p.numel() && state->exp_avg_sq().numel() == p.numel());
}

struct Step {
  double lr, beta1, beta2, eps;
  double weight_decay;  // L2 (Adam: added to the gradient) or decoupled (AdamW: p·(1 − lr·wd))
  bool decoupled;
  int64_t step;  // after the increment: 1 on the first step
};

// One pass of LibTorch's Adam/AdamW over the elements, in its order of operations:
//   AdamW: p ← p·(1 − lr·wd);  Adam: g ← g + wd·p
//   m ← m·β1 + (1 − β1)·g;  v ← v·β2 + ((1 − β2)·g)·g
//   p ← p + (−lr/(1 − β1^t))·m / (√v / √(1 − β2^t) + ε)
// with LibTorch's scalars rounded to the tensor's type where ATen rounds them.
template <typename T>
void update(const Step& s, T* p, const T* g, T* m, T* v, int64_t n) {
  const double correction1 = 1 - std::pow(s.beta1, double(s.step));
  const double correction2 = 1 - std::pow(s.beta2, double(s.step));
  const T beta1 = T(s.beta1), beta2 = T(s.beta2), rest1 = T(1 - s.beta1), rest2 = T(1 - s.beta2);
  const T root2 = T(std::sqrt(correction2)), eps = T(s.eps);
  const T step_size = T(-(s.lr / correction1));
  const T decay = T(1 - s.lr * s.weight_decay), l2 = T(s.weight_decay);
  const bool decoupled = s.decoupled && s.weight_decay != 0,
             coupled = !s.decoupled && s.weight_decay != 0;
  at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T param = p[i], grad = g[i];
      if (decoupled) param = param * decay;
      if (coupled) grad = grad + l2 * param;
      const T mi = m[i] * beta1 + rest1 * grad;
      const T vi = v[i] * beta2 + rest2 * grad * grad;
      m[i] = mi;
      v[i] = vi;
      const T denominator = std::sqrt(vi) / root2 + eps;
      p[i] = param + step_size * mi / denominator;
    }
  });
}

// The fused step over every parameter of `optimizer` (Adam or AdamW), or false, having changed
// nothing, when some parameter needs LibTorch's own step.
template <typename Options, typename State, typename Optimizer>
bool fused_step(Optimizer& optimizer, bool decoupled) {
  auto& states = optimizer.state();
  for (torch::optim::OptimizerParamGroup& group : optimizer.param_groups()) {
    if (static_cast<Options&>(group.options()).amsgrad()) return false;
    for (torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!fusable(p, static_cast<const State*>(state_of(optimizer, p)))) return false;
    }
  }
  for (torch::optim::OptimizerParamGroup& group : optimizer.param_groups()) {
    const auto& o = static_cast<Options&>(group.options());
    for (torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = states[state_key(states, p)];
      if (!slot) {
        // LibTorch's initial state: step 0, zero moments laid out as the parameter.
        auto fresh = std::make_unique<State>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<State&>(*slot);
      state.step(state.step() + 1);
      const Step s{o.lr(),      std::get<0>(o.betas()), std::get<1>(o.betas()),
                   o.eps(),     o.weight_decay(),       decoupled,
                   state.step()};
      const torch::Tensor &grad = p.grad(), &m = state.exp_avg(), &v = state.exp_avg_sq();
      if (p.scalar_type() == torch::kFloat32)
        update<float>(s, p.data_ptr<float>(), grad.data_ptr<float>(), m.data_ptr<float>(),
                      v.data_ptr<float>(), p.numel());
      else
        update<double>(s, p.data_ptr<double>(), grad.data_ptr<double>(), m.data_ptr<double>(),
                       v.data_ptr<double>(), p.numel());
    }
  }
  return true;
}

// The closure, if any, runs first (it computes the gradients); then the fused pass, or the base
// class's (LibTorch's) step without the closure.
template <typename Options, typename State, typename Base>
torch::Tensor step_of(Base& optimizer, const torch::optim::Optimizer::LossClosure& closure,
                      bool decoupled) {
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  torch::NoGradGuard no_grad;
  if (!fused_step<Options, State>(optimizer, decoupled)) optimizer.Base::step();
  return loss;
}

}  // namespace

torch::optim::OptimizerParamState* state_of(torch::optim::Optimizer& optimizer,
                                            const torch::Tensor& parameter) {
  auto& states = optimizer.state();
  const auto it = states.find(state_key(states, parameter));
  return it == states.end() ? nullptr : it->second.get();
}

torch::Tensor Adam::step(LossClosure closure) {
  return step_of<torch::optim::AdamOptions, torch::optim::AdamParamState, torch::optim::Adam>(
      *this, closure, /*decoupled=*/false);
}

torch::Tensor AdamW::step(LossClosure closure) {
  return step_of<torch::optim::AdamWOptions, torch::optim::AdamWParamState, torch::optim::AdamW>(
      *this, closure, /*decoupled=*/true);
}

}  // namespace panoramia::optim
