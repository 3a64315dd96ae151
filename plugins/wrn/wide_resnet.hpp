#pragma once
// Wide Residual Networks (Zagoruyko & Komodakis, BMVC 2016): WRN-depth-width with pre-activation
// basic blocks, three groups of (depth-4)/6 blocks at 16k, 32k and 64k channels, dropout between
// the two convolutions of a block.

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "classifier.hpp"

namespace panoramia::wrn {

struct WideResNetOptions {
  std::int64_t depth = 28;  // 6n+4
  std::int64_t width = 10;  // widening factor k
  double dropout = 0.3;
  std::int64_t in_channels = 3;
  std::int64_t classes = 10;
};

class WideBlockImpl : public torch::nn::Module {
 public:
  WideBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
  double dropout_;
};
TORCH_MODULE(WideBlock);

class WideResNetImpl : public image::ImageClassifierImpl {
 public:
  explicit WideResNetImpl(const WideResNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override;
  /// Kaiming-normal (fan-out) convolutions, default linear layer, zero bias, as the reference.
  void reset_parameters(at::Generator& generator) override;
  const WideResNetOptions& options() const { return options_; }

 private:
  WideResNetOptions options_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(WideResNet);

}  // namespace panoramia::wrn
