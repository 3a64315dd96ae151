#pragma once
// What the clipping tests (test_clipping.cpp, test_layer_tape.cpp) compare against: the clipped
// sum computed one example at a time, and the rounding bound two computations of it must meet.
//
// Two computations of the clipped sum in precision `unit` (2^-24 float32, 2^-53 float64) that
// differ only in the order of their roundings: every element of a per-example gradient, its norm
// (from P squares) and the clip factor carry relative errors of at most (roundings accumulated on
// the way)·u, and the sum over the examples adds n - 1 more, so the two differ elementwise by at
// most 2·γ·u·Σ_i|f_i g_i| (first order, Higham §3-4; see tests/dist/tolerance.hpp), γ = the
// roundings accumulated along any element's path; the norms by 2·γ·u·‖g_i‖.

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dp/clipping.hpp"

namespace panoramia::dp {

/// Per-example cross-entropy ([n]).
inline torch::Tensor cross_entropy(const torch::Tensor& out, const torch::Tensor& y) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(out, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

/// Σ_i min(1, C/(‖g_i‖+1e-6)) g_i with g_i from a backward pass on example i alone (parameters the
/// loss does not reach count as zero); `abs_sum` (float64), when given, receives
/// Σ_i |min(1, C/(‖g_i‖+1e-6)) g_i|, the scale of the rounding bound below.
inline ClippedGradients brute_force(
    torch::nn::Module& module, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
    const OutputLoss& loss, const torch::Tensor& x, const torch::Tensor& y, double clip_norm,
    std::vector<torch::Tensor>* abs_sum = nullptr) {
  const auto params = module.parameters();
  ClippedGradients out;
  for (const auto& p : params) out.sum.push_back(torch::zeros_like(p));
  if (abs_sum != nullptr)
    for (const auto& p : params) abs_sum->push_back(torch::zeros_like(p, torch::kFloat64));
  std::vector<double> norms;
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    module.zero_grad();
    loss(forward(x.slice(0, i, i + 1)), y.slice(0, i, i + 1)).sum().backward();
    double sq = 0;
    for (const auto& p : params)
      if (p.grad().defined()) sq += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
    norms.push_back(std::sqrt(sq));
    const double factor = std::min(1.0, clip_norm / (std::sqrt(sq) + 1e-6));
    torch::NoGradGuard guard;
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (!params[k].grad().defined()) continue;
      out.sum[k] += factor * params[k].grad();
      if (abs_sum != nullptr) (*abs_sum)[k] += factor * params[k].grad().to(torch::kFloat64).abs();
    }
  }
  module.zero_grad();
  out.norms = torch::tensor(norms, torch::kFloat64);
  return out;
}

/// Checks `a` against `b` within those bounds (`abs_sum`: Σ_i|f_i g_i| per parameter), prints the
/// observed differences, and returns the largest |a - b| / bound (≤ 1 passes). The norms are
/// compared when both sides have them.
inline double expect_within_rounding(const ClippedGradients& a, const ClippedGradients& b,
                                     const std::vector<torch::Tensor>& abs_sum, double gamma,
                                     double unit, const std::string& what) {
  EXPECT_EQ(a.sum.size(), b.sum.size()) << what;
  double worst = 0, worst_diff = 0;
  for (size_t k = 0; k < std::min(a.sum.size(), b.sum.size()); ++k) {
    EXPECT_EQ(a.sum[k].sizes(), b.sum[k].sizes()) << what << ": parameter " << k;
    if (a.sum[k].sizes() != b.sum[k].sizes()) continue;
    const auto diff = (a.sum[k].to(torch::kFloat64) - b.sum[k].to(torch::kFloat64)).abs();
    // + the smallest normal number of the precision, so that a zero scale allows only zero.
    const auto bound = 2 * gamma * unit * abs_sum[k] + (unit > 0x1p-30 ? 1.2e-38 : 2.3e-308);
    const double ratio = (diff / bound).max().item<double>();
    EXPECT_LE(ratio, 1.0) << what << ": parameter " << k << " differs by "
                          << diff.max().item<double>();
    worst = std::max(worst, ratio);
    worst_diff = std::max(worst_diff, diff.max().item<double>());
  }
  double norm_ratio = 0, norm_diff = 0;
  if (a.norms.defined() && b.norms.defined()) {
    const auto diff = (a.norms - b.norms).abs();
    norm_diff = diff.max().item<double>();
    norm_ratio = (diff / (2 * gamma * unit * b.norms)).max().item<double>();
    EXPECT_LE(norm_ratio, 1.0) << what << ": norms differ by " << norm_diff;
  }
  std::cout << what << ": max |difference| " << worst_diff << " (sums), " << norm_diff
            << " (norms); largest difference / rounding bound " << std::max(worst, norm_ratio)
            << "\n";
  return std::max(worst, norm_ratio);
}

}  // namespace panoramia::dp
