// Per-example clipping: the vectorised Linear-stack path and the micro-batch path against a
// brute-force loop over examples that uses ordinary backward passes.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dp/clipping.hpp"

namespace panoramia::dp {
namespace {

namespace F = torch::nn::functional;

torch::Tensor cross_entropy(const torch::Tensor& out, const torch::Tensor& y) {
  return F::cross_entropy(out, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

torch::nn::Sequential make_stack(torch::Dtype dtype) {
  torch::manual_seed(11);
  torch::nn::Sequential stack(torch::nn::Linear(5, 7), torch::nn::ReLU(),
                              torch::nn::Linear(torch::nn::LinearOptions(7, 4).bias(false)),
                              torch::nn::Tanh(), torch::nn::Linear(4, 3));
  stack->to(dtype);
  return stack;
}

// Σ_i min(1, C/(‖g_i‖+1e-6)) g_i with g_i from a backward pass on example i alone.
ClippedGradients brute_force(torch::nn::Module& module,
                             const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                             const OutputLoss& loss, const torch::Tensor& x, const torch::Tensor& y,
                             double clip_norm) {
  const auto params = module.parameters();
  ClippedGradients out;
  for (const auto& p : params) out.sum.push_back(torch::zeros_like(p));
  std::vector<double> norms;
  for (int64_t i = 0; i < x.size(0); ++i) {
    module.zero_grad();
    loss(forward(x.slice(0, i, i + 1)), y.slice(0, i, i + 1)).sum().backward();
    double sq = 0;
    for (const auto& p : params) sq += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
    norms.push_back(std::sqrt(sq));
    const double factor = std::min(1.0, clip_norm / (std::sqrt(sq) + 1e-6));
    torch::NoGradGuard guard;
    for (size_t k = 0; k < params.size(); ++k) out.sum[k] += factor * params[k].grad();
  }
  module.zero_grad();
  out.norms = torch::tensor(norms, torch::kFloat64);
  return out;
}

void expect_close(const ClippedGradients& a, const ClippedGradients& b, double tol) {
  ASSERT_EQ(a.sum.size(), b.sum.size());
  for (size_t k = 0; k < a.sum.size(); ++k) {
    ASSERT_EQ(a.sum[k].sizes(), b.sum[k].sizes()) << "parameter " << k;
    EXPECT_LT(
        (a.sum[k].to(torch::kFloat64) - b.sum[k].to(torch::kFloat64)).abs().max().item<double>(),
        tol)
        << "parameter " << k;
  }
  EXPECT_LT((a.norms - b.norms).abs().max().item<double>(), tol);
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
  const auto expected = brute_force(
      *stack, [&](const torch::Tensor& in) { return stack->forward(in); }, cross_entropy, x, y,
      clip);
  const auto vectorised = clip_per_example_linear(stack, cross_entropy, x, y, clip);
  expect_close(vectorised, expected, 1e-5);
  EXPECT_GT((vectorised.norms > clip).sum().item<int64_t>(), 5);
  EXPECT_GT((vectorised.norms < clip).sum().item<int64_t>(), 5);

  for (auto& p : stack->parameters()) p.mutable_grad() = torch::Tensor();
  const auto micro = clip_per_example(
      stack->parameters(),
      [&](const torch::Tensor& in, const torch::Tensor& lab) {
        return cross_entropy(stack->forward(in), lab);
      },
      x, y, clip);
  expect_close(micro, expected, 1e-5);
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
  stack->zero_grad();
  bce(stack->forward(x), y).sum().backward();
  const auto clipped = clip_per_example_linear(stack, bce, x, y, 1e12);
  const auto params = stack->parameters();
  for (size_t k = 0; k < params.size(); ++k)
    EXPECT_TRUE(torch::allclose(clipped.sum[k], params[k].grad(), 1e-10, 1e-12)) << k;
  // With a tiny clipping norm every example contributes a vector of norm C (up to 1e-6).
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
  const auto expected = brute_force(*net, forward, cross_entropy, x, y, 0.5);
  const auto micro = clip_per_example(
      net->parameters(),
      [&](const torch::Tensor& in, const torch::Tensor& lab) {
        return cross_entropy(forward(in), lab);
      },
      x, y, 0.5);
  expect_close(micro, expected, 1e-10);
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
