// The fused Adam and AdamW against LibTorch's: the same parameters and moments within the
// rounding of their shared arithmetic, the same state (a checkpoint of one loads into the other),
// LibTorch's own step where the fused pass does not apply, and no dependence on the thread count.
#include <cmath>
#include <sstream>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "optim/adam.hpp"

namespace panoramia::optim {
namespace {

struct Setting {
  bool decoupled;  // AdamW
  double weight_decay;
  torch::Dtype dtype;
};

std::vector<torch::Tensor> fresh_parameters(torch::Dtype dtype) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(1);
  std::vector<torch::Tensor> out;
  for (const auto& shape : std::vector<std::vector<int64_t>>{{40, 30}, {30}, {5000}, {3}})
    out.push_back(torch::randn(shape, g, dtype).requires_grad_());
  return out;
}

// Gradients for step k: N(0, 1) scaled per step so that the moments see changing magnitudes;
// the last parameter gets none (the step skips it).
void set_gradients(std::vector<torch::Tensor>& params, int step) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(100 + step);
  for (size_t i = 0; i + 1 < params.size(); ++i)
    params[i].mutable_grad() =
        torch::randn(params[i].sizes(), g, params[i].scalar_type()) * std::pow(3.0, step % 3 - 1);
  params.back().mutable_grad() = torch::Tensor();
}

// Ours (`fused`) or LibTorch's Adam, or AdamW when the setting is decoupled.
std::unique_ptr<torch::optim::Optimizer> make(std::vector<torch::Tensor> params, const Setting& s,
                                              bool fused, bool amsgrad = false) {
  const auto adamw = torch::optim::AdamWOptions(1e-2).weight_decay(s.weight_decay).amsgrad(amsgrad);
  const auto adam = torch::optim::AdamOptions(1e-2).weight_decay(s.weight_decay).amsgrad(amsgrad);
  if (s.decoupled)
    return fused ? std::unique_ptr<torch::optim::Optimizer>(std::make_unique<AdamW>(params, adamw))
                 : std::make_unique<torch::optim::AdamW>(params, adamw);
  return fused ? std::unique_ptr<torch::optim::Optimizer>(std::make_unique<Adam>(params, adam))
               : std::make_unique<torch::optim::Adam>(params, adam);
}

template <typename State>
const State& state(torch::optim::Optimizer& optimizer, const torch::Tensor& p) {
  auto* found = state_of(optimizer, p);
  if (found == nullptr) throw std::logic_error("no state for the parameter");
  return static_cast<const State&>(*found);
}

// Both sides compute, per element, the same operations in the same order; only an operation that
// one side's vectorised kernel contracts into a fused multiply-add can round differently. The
// bound adds up each side's roundings (unit roundoff u, first order in u), element by element,
// with G_k = |g_k| + wd·|p_{k-1}| bounding the L2-decayed gradient g' (Adam; G = |g| for AdamW),
// M_k = β1·M_{k-1} + (1−β1)·G_k bounding |m_k| and V_k = β2·V_{k-1} + (1−β2)·G_k² bounding v_k:
//   g':  e_k = 4u·G_k + wd·P_{k-1} (a product and a sum a side; the parameters' difference so far)
//   m:   Em_k = β1·Em_{k-1} + (1−β1)·e_k + 6u·M_k (two products and a sum a side)
//   v:   Ev_k = β2·Ev_{k-1} + 2(1−β2)·G_k·e_k + 8u·V_k (three products and a sum a side)
//   d = √v/√(1−β2^k) + ε:  Ed_k = Ev_k/(√v_k + √max(0, v_k − Ev_k))/√(1−β2^k) + 6u·d_k
//   the step s_k·m_k/d_k (s_k = lr/(1−β1^k)), with d_lo = max(d_k − Ed_k, ε/2):
//        s_k·(Em_k + M_k·Ed_k/d_k + 4u·M_k)/d_lo
//   p:   P_k = P_{k-1} + that + 2u·|p_k| (the sum) + 2u·|p_{k-1}| (AdamW's decay)
// evaluated on the reference run's v_k, d_k and p_k. Where g' cancels, v_k is rounding noise and
// the bound grows as it must: Adam's normalised step m/√v is ill-conditioned there for any
// implementation.
template <typename State>
void check(const Setting& s) {
  const double u = s.dtype == torch::kFloat64 ? 0x1p-53 : 0x1p-24;
  const double lr = 1e-2, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  const double l2 = s.decoupled ? 0.0 : s.weight_decay;
  auto ours_params = fresh_parameters(s.dtype), theirs_params = fresh_parameters(s.dtype);
  auto ours = make(ours_params, s, true);
  auto theirs = make(theirs_params, s, false);
  const size_t trained = theirs_params.size() - 1;  // the last one never has a gradient
  std::vector<torch::Tensor> P(trained), Em(trained), Ev(trained), M(trained), V(trained);
  for (size_t i = 0; i < trained; ++i)
    P[i] = Em[i] = Ev[i] = M[i] = V[i] = torch::zeros(theirs_params[i].sizes(), torch::kFloat64);
  double worst = 0;
  const auto within = [&](const torch::Tensor& a, const torch::Tensor& b,
                          const torch::Tensor& bound, const std::string& what) {
    const auto diff = (a.detach().to(torch::kFloat64) - b.detach().to(torch::kFloat64)).abs();
    const double ratio = (diff / (bound + 1e-300)).max().item<double>();
    EXPECT_LE(ratio, 1.0) << what << " differs by " << diff.max().item<double>();
    worst = std::max(worst, ratio);
  };
  for (int k = 1; k <= 6; ++k) {
    set_gradients(ours_params, k);
    set_gradients(theirs_params, k);
    std::vector<torch::Tensor> before;
    for (const auto& p : theirs_params) before.push_back(p.detach().to(torch::kFloat64));
    ours->step();
    theirs->step();
    const double s_k = lr / (1 - std::pow(beta1, k)), root = std::sqrt(1 - std::pow(beta2, k));
    for (size_t i = 0; i < trained; ++i) {
      const auto& p = theirs_params[i];
      const auto G = p.grad().to(torch::kFloat64).abs() + l2 * before[i].abs();
      M[i] = beta1 * M[i] + (1 - beta1) * G;
      V[i] = beta2 * V[i] + (1 - beta2) * G * G;
      const auto e = 4 * u * G + l2 * P[i];
      Em[i] = beta1 * Em[i] + (1 - beta1) * e + 6 * u * M[i];
      Ev[i] = beta2 * Ev[i] + 2 * (1 - beta2) * G * e + 8 * u * V[i];
      const auto& reference = state<State>(*theirs, p);
      const auto& fused = state<State>(*ours, ours_params[i]);
      EXPECT_EQ(fused.step(), reference.step());
      const std::string where =
          "step " + std::to_string(k) + ", parameter " + std::to_string(i) + "'s ";
      within(fused.exp_avg(), reference.exp_avg(), Em[i], where + "m");
      within(fused.exp_avg_sq(), reference.exp_avg_sq(), Ev[i], where + "v");
      const auto v = reference.exp_avg_sq().to(torch::kFloat64);
      const auto d = v.sqrt() / root + eps;
      const auto Ed = Ev[i] / (v.sqrt() + (v - Ev[i]).clamp_min(0).sqrt()) / root + 6 * u * d;
      const auto d_lo = (d - Ed).clamp_min(eps / 2);
      const auto after = p.detach().to(torch::kFloat64);
      P[i] = P[i] + s_k * (Em[i] + M[i] * Ed / d + 4 * u * M[i]) / d_lo + 2 * u * after.abs() +
             (s.decoupled ? 2 * u : 0.0) * before[i].abs();
      within(ours_params[i], p, P[i], where + "value");
    }
  }
  // The parameter without gradients is untouched on both sides and has no state.
  EXPECT_TRUE(torch::equal(ours_params.back(), fresh_parameters(s.dtype).back()));
  EXPECT_EQ(state_of(*ours, ours_params.back()), nullptr);
  std::cout << "fused vs LibTorch: largest difference / rounding bound " << worst << "\n";
}

class FusedAdam : public ::testing::TestWithParam<Setting> {};

TEST_P(FusedAdam, MatchesLibTorchWithinRounding) {
  if (GetParam().decoupled)
    check<torch::optim::AdamWParamState>(GetParam());
  else
    check<torch::optim::AdamParamState>(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Settings, FusedAdam,
    ::testing::Values(Setting{false, 0.0, torch::kFloat32}, Setting{false, 0.1, torch::kFloat32},
                      Setting{true, 0.0, torch::kFloat32}, Setting{true, 0.1, torch::kFloat32},
                      Setting{false, 0.1, torch::kFloat64}, Setting{true, 0.1, torch::kFloat64}));

// Where the fused pass does not apply (AMSGrad; a gradient that is not contiguous), the step is
// LibTorch's own: bit for bit the same parameters.
TEST(FusedAdam, FallsBackToLibTorchsStep) {
  for (const bool amsgrad : {true, false}) {
    const Setting s{false, 0.1, torch::kFloat32};
    auto ours_params = fresh_parameters(s.dtype), theirs_params = fresh_parameters(s.dtype);
    auto ours = make(ours_params, s, true, amsgrad);
    auto theirs = make(theirs_params, s, false, amsgrad);
    for (int k = 1; k <= 3; ++k) {
      set_gradients(ours_params, k);
      set_gradients(theirs_params, k);
      if (!amsgrad)  // the same values, laid out transposed
        ours_params[0].mutable_grad() = ours_params[0].grad().t().contiguous().t();
      ours->step();
      theirs->step();
    }
    for (size_t i = 0; i < ours_params.size(); ++i)
      EXPECT_TRUE(torch::equal(ours_params[i], theirs_params[i]))
          << "amsgrad " << amsgrad << ", parameter " << i;
  }
}

// Each element's update depends on nothing else, and the chunks are fixed: one thread or two give
// the same bits (a parameter of 2^17 elements spans four chunks).
TEST(FusedAdam, TheThreadCountDoesNotChangeTheResult) {
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> results;
  for (const int n : {1, 2}) {
    at::set_num_threads(n);
    auto g = at::make_generator<at::CPUGeneratorImpl>(7);
    auto p = torch::randn({1 << 17}, g).requires_grad_();
    AdamW optimizer({p}, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
    for (int k = 0; k < 3; ++k) {
      p.mutable_grad() = torch::randn({1 << 17}, g);
      optimizer.step();
    }
    results.push_back(p.detach().clone());
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(results[0], results[1]));
}

// A checkpoint of the fused optimizer loads into LibTorch's and the other way round (the same
// state classes), and a closure's loss is returned after the gradients it computed are applied.
TEST(FusedAdam, CheckpointsAndClosuresAreLibTorchs) {
  const Setting s{false, 0.0, torch::kFloat32};
  auto ours_params = fresh_parameters(s.dtype), theirs_params = fresh_parameters(s.dtype);
  Adam ours(ours_params, torch::optim::AdamOptions(1e-2));
  for (int k = 1; k <= 2; ++k) {
    set_gradients(ours_params, k);
    ours.step();
  }
  std::stringstream saved;
  torch::save(ours, saved);
  for (size_t i = 0; i < ours_params.size(); ++i)
    theirs_params[i].detach().copy_(ours_params[i].detach());
  torch::optim::Adam theirs(theirs_params, torch::optim::AdamOptions(1e-2));
  torch::load(theirs, saved);
  for (size_t i = 0; i + 1 < ours_params.size(); ++i) {
    const auto& a = state<torch::optim::AdamParamState>(ours, ours_params[i]);
    const auto& b = state<torch::optim::AdamParamState>(theirs, theirs_params[i]);
    EXPECT_EQ(a.step(), b.step());
    EXPECT_TRUE(torch::equal(a.exp_avg(), b.exp_avg()));
    EXPECT_TRUE(torch::equal(a.exp_avg_sq(), b.exp_avg_sq()));
  }
  // Back into a fresh fused optimizer, which then continues from step 2.
  std::stringstream again;
  torch::save(theirs, again);
  Adam resumed(ours_params, torch::optim::AdamOptions(1e-2));
  torch::load(resumed, again);
  const auto before = ours_params[1].detach().clone();
  const auto loss = resumed.step([&] {
    set_gradients(ours_params, 3);
    return torch::tensor(42.0);
  });
  EXPECT_EQ(loss.item<double>(), 42.0);
  EXPECT_EQ(state<torch::optim::AdamParamState>(resumed, ours_params[1]).step(), 3);
  EXPECT_FALSE(torch::equal(before, ours_params[1]));
}

}  // namespace
}  // namespace panoramia::optim
