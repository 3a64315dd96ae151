// Ghost clipping through a LayerTape (Conv2d, GroupNorm, Linear on 2-D and 3-D inputs, both the
// Gram-matrix and the materialised per-example paths) against a brute-force loop over examples
// that uses ordinary backward passes; and the errors that protect the guarantee.
#include <iostream>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "clipping_checks.hpp"
#include "dp/layer_tape.hpp"

namespace panoramia::dp {
namespace {

// Conv of stride 2 and dilation 2 (6x6 input, 3x3 output: 9 positions, 4 x 18 weights per
// example: materialised) -> GroupNorm -> ReLU -> conv of stride 2 (2x2 output: 4 positions, 6 x 36
// weights: the Gram form) -> GroupNorm -> mean pool -> Linear.
struct ConvNetImpl : torch::nn::Module {
  ConvNetImpl() {
    conv1 = register_module(
        "conv1",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).stride(2).dilation(2).padding(2)));
    gn1 = register_module("gn1", torch::nn::GroupNorm(2, 4));
    conv2 = register_module(
        "conv2",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 6, 3).stride(2).padding(1).bias(false)));
    gn2 = register_module("gn2", torch::nn::GroupNorm(3, 6));
    fc = register_module("fc", torch::nn::Linear(6, 3));
  }
  torch::Tensor forward(const torch::Tensor& x, LayerTape* tape = nullptr) {
    auto h = torch::relu(record(tape, *gn1, record(tape, *conv1, x)));
    h = torch::relu(record(tape, *gn2, record(tape, *conv2, h)));
    return record(tape, *fc, h.mean({2, 3}));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::GroupNorm gn1{nullptr}, gn2{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ConvNet);

// Sequences [n, 3, 6]: Linear 6->8 (3 rows, 8 x 6 weights: the Gram form), tanh, Linear 8->2 on
// each row (2 x 8 weights: materialised), mean over rows.
struct SeqNetImpl : torch::nn::Module {
  SeqNetImpl() {
    a = register_module("a", torch::nn::Linear(6, 8));
    b = register_module("b", torch::nn::Linear(8, 2));
  }
  torch::Tensor forward(const torch::Tensor& x, LayerTape* tape = nullptr) {
    return record(tape, *b, torch::tanh(record(tape, *a, x))).mean(1);
  }
  torch::nn::Linear a{nullptr}, b{nullptr};
};
TORCH_MODULE(SeqNet);

// brute_force (clipping_checks.hpp) on a module holder, with the cross-entropy loss.
template <typename Net>
ClippedGradients brute_force(Net& net, const torch::Tensor& x, const torch::Tensor& y,
                             double clip_norm, std::vector<torch::Tensor>* abs_sum = nullptr) {
  return dp::brute_force(
      *net, [&](const torch::Tensor& xi) { return net->forward(xi); }, cross_entropy, x, y,
      clip_norm, abs_sum);
}

// Per-example weight gradients kept for the weighted sum (the default budget) or, with a budget
// of one byte, computed one example at a time and not kept.
constexpr std::size_t kKeep = std::size_t{64} << 20, kOneAtATime = 1;

template <typename Net>
ClippedGradients with_tape(Net& net, const torch::Tensor& x, const torch::Tensor& y,
                           double clip_norm, std::size_t budget = kKeep) {
  LayerTape tape(budget);
  const auto losses = cross_entropy(net->forward(x, &tape), y);
  return clip_per_example_tape(net->parameters(), tape, losses, clip_norm);
}

template <typename Net>
void check_against_loop(Net& net, const torch::Tensor& x, const torch::Tensor& y, double gamma,
                        double unit, std::size_t budget) {
  std::vector<torch::Tensor> plain_abs_sum;
  const auto norms = brute_force(net, x, y, 1e9, &plain_abs_sum).norms;
  // A clipping norm at the median: about half the examples are scaled down.
  const double clip = norms.median().template item<double>();
  std::vector<torch::Tensor> abs_sum;
  const auto expected = brute_force(net, x, y, clip, &abs_sum);
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  const auto got = with_tape(net, x, y, clip, budget);
  expect_within_rounding(got, expected, abs_sum, gamma, unit, "tape vs loop");
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
  // Without clipping the sum is the plain batch gradient (the same bound, factors 1).
  const auto unclipped = with_tape(net, x, y, 1e9, budget);
  net->zero_grad();
  cross_entropy(net->forward(x), y).sum().backward();
  ClippedGradients plain;
  for (const auto& p : net->parameters())
    plain.sum.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  expect_within_rounding(unclipped, plain, plain_abs_sum, gamma, unit, "unclipped vs batch");
}

class TapeClipping : public ::testing::TestWithParam<torch::Dtype> {};

TEST_P(TapeClipping, ConvGroupNormLinearEqualsPerExampleLoop) {
  const auto dtype = GetParam();
  torch::manual_seed(3);
  ConvNet net;
  net->to(dtype);
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto x = torch::randn({10, 2, 6, 6}, g, dtype);
  const auto y = torch::randint(3, {10}, g, torch::kInt64);
  // γ: 10 examples; forward conv1 18 terms, GroupNorm 72, conv2 36, GroupNorm 18, pool 4, fc 6,
  // softmax 3; backward about as many again plus the weight gradients' sums over 9 and 4
  // positions; the Gram form of conv2's norm (4 x 4 position pairs, whose cancellation can cost up
  // to a factor 4 on the squared norm); the norm's P = 333 squares: about 10 + 160 + 250 + 730 +
  // 333 ≈ 1500.
  for (const auto budget : {kKeep, kOneAtATime})
    check_against_loop(net, x, y, 1500, dtype == torch::kFloat64 ? 0x1p-53 : 0x1p-24, budget);
}

TEST_P(TapeClipping, SequenceLinearEqualsPerExampleLoop) {
  const auto dtype = GetParam();
  torch::manual_seed(4);
  SeqNet net;
  net->to(dtype);
  auto g = at::make_generator<at::CPUGeneratorImpl>(10);
  const auto x = torch::randn({12, 3, 6}, g, dtype) * 2;
  const auto y = torch::randint(2, {12}, g, torch::kInt64);
  // γ: 12 examples; forward 6 + 8 terms, the mean over 3 rows and the softmax's 2, backward as
  // many; the Gram form of a's norm (3 x 3 row pairs, up to a factor 3 of cancellation); the
  // norm's P = 74 squares: about 12 + 2·19 + 27 + 74 ≈ 150.
  for (const auto budget : {kKeep, kOneAtATime})
    check_against_loop(net, x, y, 150, dtype == torch::kFloat64 ? 0x1p-53 : 0x1p-24, budget);
}

// The nets above take each form of the norm that their comments say.
TEST(TapeClipping, TheTestNetsTakeBothFormsOfTheNorm) {
  EXPECT_FALSE(gram_is_cheaper(9, 4, 2 * 9));  // ConvNet's conv1: materialised
  EXPECT_TRUE(gram_is_cheaper(4, 6, 4 * 9));   // ConvNet's conv2: Gram
  EXPECT_TRUE(gram_is_cheaper(3, 8, 6));       // SeqNet's a: Gram
  EXPECT_FALSE(gram_is_cheaper(3, 2, 8));      // SeqNet's b: materialised
  // WRN-16-4 on 32x32 images: the first two groups materialise, the third (8x8) takes the Gram.
  EXPECT_FALSE(gram_is_cheaper(32 * 32, 64, 64 * 9));
  EXPECT_FALSE(gram_is_cheaper(16 * 16, 128, 128 * 9));
  EXPECT_TRUE(gram_is_cheaper(8 * 8, 256, 256 * 9));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, TapeClipping, ::testing::Values(torch::kFloat64, torch::kFloat32));

TEST(TapeClipping, FrozenParametersGetZerosAndNoShareOfTheNorm) {
  torch::manual_seed(5);
  ConvNet net;
  net->to(torch::kFloat64);
  auto g = at::make_generator<at::CPUGeneratorImpl>(2);
  const auto x = torch::randn({4, 2, 6, 6}, g, torch::kFloat64);
  const auto y = torch::randint(3, {4}, g, torch::kInt64);
  net->conv1->weight.set_requires_grad(false);
  const auto got = with_tape(net, x, y, 1e9);
  EXPECT_EQ(got.sum[0].abs().sum().item<double>(), 0.0);
  // The norms are those of the remaining parameters: compare with the loop on them.
  const auto loop = brute_force(net, x, y, 1e9);
  // Float64 norms of about 1 from at most ~1500 roundings (γ above): ≤ 2·1500·u64 ≈ 3e-13; the
  // frozen weight's share of the norm would be O(1).
  EXPECT_LT((got.norms - loop.norms).abs().max().item<double>(), 1e-9)
      << (got.norms - loop.norms).abs().max().item<double>();
}

TEST(TapeClipping, RefusesUnrecordedParametersAndSharedLayers) {
  torch::manual_seed(6);
  ConvNet net;
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto x = torch::randn({3, 2, 6, 6}, g);
  const auto y = torch::randint(3, {3}, g, torch::kInt64);
  {
    // The head runs outside the tape: its gradient would be missed by the norms.
    LayerTape tape;
    auto h = torch::relu(tape.group_norm(*net->gn1, tape.conv2d(*net->conv1, x)));
    h = torch::relu(tape.group_norm(*net->gn2, tape.conv2d(*net->conv2, h)));
    const auto losses = cross_entropy(net->fc->forward(h.mean({2, 3})), y);
    try {
      clip_per_example_tape(net->parameters(), tape, losses, 1.0);
      FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("belongs to no layer the tape recorded"),
                std::string::npos)
          << e.what();
    }
  }
  {
    SeqNet seq;
    LayerTape tape;
    auto h = torch::tanh(tape.linear(*seq->a, torch::randn({3, 2, 6}, g)));
    h = tape.linear(*seq->b, h);
    h = tape.linear(*seq->b, torch::cat({h, h, h, h}, 2)).mean(1);  // b again: shared weights
    const auto losses = cross_entropy(h, torch::zeros({3}, torch::kInt64));
    EXPECT_THROW(clip_per_example_tape(seq->parameters(), tape, losses, 1.0),
                 std::invalid_argument);
  }
  LayerTape tape;
  torch::nn::Conv2d grouped(torch::nn::Conv2dOptions(2, 2, 3).groups(2));
  EXPECT_THROW(tape.conv2d(*grouped, x), std::invalid_argument);
  EXPECT_THROW(tape.linear(*net->fc, torch::randn({2, 3, 4, 6})), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::dp
