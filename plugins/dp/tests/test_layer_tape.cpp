// Ghost clipping through a LayerTape (Conv2d, GroupNorm, Linear on 2-D and 3-D inputs, both the
// Gram-matrix and the materialised per-example paths) against a brute-force loop over examples
// that uses ordinary backward passes; and the errors that protect the guarantee.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dp/layer_tape.hpp"

namespace panoramia::dp {
namespace {

namespace F = torch::nn::functional;

// Conv (6x6 input: 36 positions, materialised) -> GroupNorm -> ReLU -> strided conv (9 positions,
// 6 x 36 weights per example: the Gram path) -> GroupNorm -> mean pool -> Linear.
struct ConvNetImpl : torch::nn::Module {
  ConvNetImpl() {
    conv1 =
        register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).padding(1)));
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

// Sequences [n, 3, 5]: Linear 5->4 (3 rows, 2·9 < 20: Gram path), tanh, Linear 4->2 on each row
// with 2·9 > 8 (materialised), mean over rows.
struct SeqNetImpl : torch::nn::Module {
  SeqNetImpl() {
    a = register_module("a", torch::nn::Linear(5, 4));
    b = register_module("b", torch::nn::Linear(4, 2));
  }
  torch::Tensor forward(const torch::Tensor& x, LayerTape* tape = nullptr) {
    return record(tape, *b, torch::tanh(record(tape, *a, x))).mean(1);
  }
  torch::nn::Linear a{nullptr}, b{nullptr};
};
TORCH_MODULE(SeqNet);

torch::Tensor cross_entropy(const torch::Tensor& out, const torch::Tensor& y) {
  return F::cross_entropy(out, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

// Σ_i min(1, C/(‖g_i‖+1e-6)) g_i with g_i from a backward pass on example i alone.
template <typename Net>
ClippedGradients brute_force(Net& net, const torch::Tensor& x, const torch::Tensor& y,
                             double clip_norm) {
  const std::vector<torch::Tensor> params = net->parameters();
  ClippedGradients out;
  for (const auto& p : params) out.sum.push_back(torch::zeros_like(p));
  std::vector<double> norms;
  for (int64_t i = 0; i < x.size(0); ++i) {
    net->zero_grad();
    cross_entropy(net->forward(x.slice(0, i, i + 1)), y.slice(0, i, i + 1)).sum().backward();
    double sq = 0;
    for (const auto& p : params)
      if (p.grad().defined())
        sq += p.grad().to(torch::kFloat64).pow(2).sum().template item<double>();
    norms.push_back(std::sqrt(sq));
    const double factor = std::min(1.0, clip_norm / (std::sqrt(sq) + 1e-6));
    torch::NoGradGuard guard;
    for (size_t k = 0; k < params.size(); ++k)
      if (params[k].grad().defined()) out.sum[k] += factor * params[k].grad();
  }
  net->zero_grad();
  out.norms = torch::tensor(norms, torch::kFloat64);
  return out;
}

template <typename Net>
ClippedGradients with_tape(Net& net, const torch::Tensor& x, const torch::Tensor& y,
                           double clip_norm) {
  LayerTape tape;
  const auto losses = cross_entropy(net->forward(x, &tape), y);
  return clip_per_example_tape(net->parameters(), tape, losses, clip_norm);
}

void expect_close(const ClippedGradients& a, const ClippedGradients& b, double tol) {
  ASSERT_EQ(a.sum.size(), b.sum.size());
  for (size_t k = 0; k < a.sum.size(); ++k) {
    ASSERT_EQ(a.sum[k].sizes(), b.sum[k].sizes()) << "parameter " << k;
    const auto scale = 1.0 + b.sum[k].abs().max().item<double>();
    EXPECT_LT(
        (a.sum[k].to(torch::kFloat64) - b.sum[k].to(torch::kFloat64)).abs().max().item<double>(),
        tol * scale)
        << "parameter " << k;
  }
  EXPECT_LT(((a.norms - b.norms).abs() / (1.0 + b.norms)).max().item<double>(), tol);
}

template <typename Net>
void check_against_loop(Net& net, const torch::Tensor& x, const torch::Tensor& y, double tol) {
  const auto norms = brute_force(net, x, y, 1e9).norms;
  // A clipping norm at the median: about half the examples are scaled down.
  const double clip = norms.median().template item<double>();
  const auto expected = brute_force(net, x, y, clip);
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  const auto got = with_tape(net, x, y, clip);
  expect_close(got, expected, tol);
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
  // Without clipping the sum is the plain batch gradient.
  const auto unclipped = with_tape(net, x, y, 1e9);
  net->zero_grad();
  cross_entropy(net->forward(x), y).sum().backward();
  const std::vector<torch::Tensor> params = net->parameters();
  for (size_t k = 0; k < params.size(); ++k)
    EXPECT_TRUE(torch::allclose(unclipped.sum[k], params[k].grad(), tol, tol)) << "parameter " << k;
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
  check_against_loop(net, x, y, dtype == torch::kFloat64 ? 1e-9 : 2e-4);
}

TEST_P(TapeClipping, SequenceLinearEqualsPerExampleLoop) {
  const auto dtype = GetParam();
  torch::manual_seed(4);
  SeqNet net;
  net->to(dtype);
  auto g = at::make_generator<at::CPUGeneratorImpl>(10);
  const auto x = torch::randn({12, 3, 5}, g, dtype) * 2;
  const auto y = torch::randint(2, {12}, g, torch::kInt64);
  check_against_loop(net, x, y, dtype == torch::kFloat64 ? 1e-9 : 2e-4);
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
  EXPECT_LT((got.norms - loop.norms).abs().max().item<double>(), 1e-9);
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
    auto h = torch::tanh(tape.linear(*seq->a, torch::randn({3, 2, 5}, g)));
    h = tape.linear(*seq->b, h);
    h = tape.linear(*seq->b, torch::cat({h, h}, 2)).mean(1);  // b again: shared weights
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
