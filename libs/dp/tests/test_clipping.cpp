// Per-example clipping: the vectorised Linear-stack path and the micro-batch path against a
// brute-force loop over examples that uses ordinary backward passes.
#include <iostream>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "clipping_checks.hpp"
#include "dp/clipping.hpp"

namespace panoramia::dp {
namespace {

torch::nn::Sequential make_stack(torch::Dtype dtype) {
  torch::manual_seed(11);
  torch::nn::Sequential stack(torch::nn::Linear(5, 7), torch::nn::ReLU(),
                              torch::nn::Linear(torch::nn::LinearOptions(7, 4).bias(false)),
                              torch::nn::Tanh(), torch::nn::Linear(4, 3));
  stack->to(dtype);
  return stack;
}

class LinearClipping : public ::testing::TestWithParam<torch::Dtype> {};

TEST_P(LinearClipping, VectorisedEqualsPerExampleLoop) {
  const auto dtype = GetParam();
  auto stack = make_stack(dtype);
  ASSERT_TRUE(is_linear_stack(stack));
  auto g = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto x = torch::randn({24, 5}, g, dtype) * 2;
  const auto y = torch::randint(3, {24}, g, torch::kInt64);
  const auto reference_norms =
      brute_force(
          *stack, [&](const torch::Tensor& in) { return stack->forward(in); }, cross_entropy, x, y,
          1e9)
          .norms;
  // A clipping norm at the median: about half the examples are scaled down.
  const double clip = reference_norms.median().item<double>();
  std::vector<torch::Tensor> abs_sum;
  const auto expected = brute_force(
      *stack, [&](const torch::Tensor& in) { return stack->forward(in); }, cross_entropy, x, y,
      clip, &abs_sum);
  // γ: n = 24 examples summed; forward and backward dot products of 5 + 7 + 4 + 3 terms each way
  // and the softmax's 3; the norm's P = 85 squares (its square root and the factor's division
  // add a few): about 24 + 2·19 + 3 + 85 ≈ 150. In float64 that is exactness up to ~3e-14 of
  // Σ|f_i g_i|, in float32 ~2e-5; a wrong factor (another example's norm, a missing min, the 1e-6
  // dropped) changes the sums by ≥ 1e-3 of that scale.
  const double gamma = 150;
  const double unit = dtype == torch::kFloat64 ? 0x1p-53 : 0x1p-24;
  const auto vectorised = clip_per_example_linear(stack, cross_entropy, x, y, clip);
  expect_within_rounding(vectorised, expected, abs_sum, gamma, unit, "vectorised");
  EXPECT_GT((vectorised.norms > clip).sum().item<int64_t>(), 5);
  EXPECT_GT((vectorised.norms < clip).sum().item<int64_t>(), 5);

  for (auto& p : stack->parameters()) p.mutable_grad() = torch::Tensor();
  const auto micro = clip_per_example(
      stack->parameters(),
      [&](const torch::Tensor& in, const torch::Tensor& lab) {
        return cross_entropy(stack->forward(in), lab);
      },
      x, y, clip);
  expect_within_rounding(micro, expected, abs_sum, gamma, unit, "micro-batch");
  for (const auto& p : stack->parameters()) EXPECT_FALSE(p.grad().defined());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LinearClipping,
                         ::testing::Values(torch::kFloat64, torch::kFloat32));

TEST(Clipping, SigmoidOutputAndHugeClipNormGiveThePlainBatchGradient) {
  torch::manual_seed(3);
  torch::nn::Sequential stack(torch::nn::Linear(6, 8), torch::nn::ReLU(), torch::nn::Dropout(0.0),
                              torch::nn::Linear(8, 1));
  stack->to(torch::kFloat64);
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto x = torch::randn({40, 6}, g, torch::kFloat64);
  const auto y = torch::randint(2, {40}, g, torch::kFloat64);
  const OutputLoss bce = [](const torch::Tensor& out, const torch::Tensor& labels) {
    return torch::binary_cross_entropy_with_logits(out.squeeze(1), labels, {}, {},
                                                   at::Reduction::None);
  };
  // Σ_i |g_i|, the scale of the rounding bound (the loop's own sum is not needed).
  std::vector<torch::Tensor> abs_sum;
  brute_force(
      *stack, [&](const torch::Tensor& in) { return stack->forward(in); }, bce, x, y, 1e12,
      &abs_sum);
  stack->zero_grad();
  bce(stack->forward(x), y).sum().backward();
  const auto clipped = clip_per_example_linear(stack, bce, x, y, 1e12);
  ClippedGradients plain;
  for (const auto& p : stack->parameters()) plain.sum.push_back(p.grad().clone());
  plain.norms = clipped.norms;
  // Float64, every factor exactly 1: the two differ only in summation order, by ≤ 2·γ·u·Σ_i|g_i|
  // with γ ≈ 40 examples + 2·(6 + 8 + 1) dot-product terms ≈ 70 (~2e-14 of the scale). One
  // factor ≠ 1 would move elements by ~1e-2 of it.
  expect_within_rounding(clipped, plain, abs_sum, 70, 0x1p-53, "huge clipping norm");
  // With a tiny clipping norm every example contributes a vector of norm C·‖g‖/(‖g‖ + 1e-6) < C;
  // the norm of their float64 sum is ≤ 40·C up to 40 additions' rounding (40·u64 ≪ 1e-9).
  const double c = 1e-3;
  const auto tiny = clip_per_example_linear(stack, bce, x, y, c);
  double sq = 0;
  for (const auto& s : tiny.sum) sq += s.pow(2).sum().item<double>();
  EXPECT_LE(std::sqrt(sq), 40 * c * (1 + 1e-9));
}

TEST(Clipping, MicroBatchFallbackWorksForAnyModule) {
  // A convolution: not a Linear stack, so only the generic path applies.
  torch::manual_seed(4);
  torch::nn::Sequential net(torch::nn::Conv1d(torch::nn::Conv1dOptions(2, 3, 3)), torch::nn::ReLU(),
                            torch::nn::Flatten(), torch::nn::Linear(3 * 6, 2));
  net->to(torch::kFloat64);
  EXPECT_FALSE(is_linear_stack(net));
  auto g = at::make_generator<at::CPUGeneratorImpl>(2);
  const auto x = torch::randn({10, 2, 8}, g, torch::kFloat64);
  const auto y = torch::randint(2, {10}, g, torch::kInt64);
  EXPECT_THROW(clip_per_example_linear(net, cross_entropy, x, y, 1.0), std::invalid_argument);
  const auto forward = [&](const torch::Tensor& in) { return net->forward(in); };
  std::vector<torch::Tensor> abs_sum;
  const auto expected = brute_force(*net, forward, cross_entropy, x, y, 0.5, &abs_sum);
  const auto micro = clip_per_example(
      net->parameters(),
      [&](const torch::Tensor& in, const torch::Tensor& lab) {
        return cross_entropy(forward(in), lab);
      },
      x, y, 0.5);
  // Float64, exact up to rounding: γ = 10 examples + the convolution's 2·3 terms and its weight
  // gradient's 6 positions + the Linear's 18 and 2 terms each way + the norm's P = 59 squares:
  // about 10 + 12 + 40 + 59 ≈ 120.
  expect_within_rounding(micro, expected, abs_sum, 120, 0x1p-53, "micro-batch, conv");
}

TEST(Clipping, RejectsBadArguments) {
  auto stack = make_stack(torch::kFloat64);
  const auto x = torch::randn({4, 5}, torch::kFloat64);
  const auto y = torch::zeros({4}, torch::kInt64);
  EXPECT_THROW(clip_per_example_linear(stack, cross_entropy, x, y, 0.0), std::invalid_argument);
  EXPECT_THROW(
      clip_per_example_linear(stack, cross_entropy, x, torch::zeros({3}, torch::kInt64), 1),
      std::invalid_argument);
  const OutputLoss mean_loss = [](const torch::Tensor& out, const torch::Tensor& labels) {
    return cross_entropy(out, labels).mean();
  };
  EXPECT_THROW(clip_per_example_linear(stack, mean_loss, x, y, 1.0), std::invalid_argument);
  torch::nn::Sequential norm(torch::nn::Linear(5, 5),
                             torch::nn::LayerNorm(torch::nn::LayerNormOptions({5})));
  EXPECT_FALSE(is_linear_stack(norm));
}

}  // namespace
}  // namespace panoramia::dp
