#pragma once
// Wide Residual Networks (Zagoruyko & Komodakis, BMVC 2016): WRN-depth-width with pre-activation
// basic blocks, three groups of (depth-4)/6 blocks at 16k, 32k and 64k channels, dropout between
// the two convolutions of a block. Normalisation is BatchNorm (the original) or GroupNorm (for
// DP-SGD, where batch statistics would mix examples: Opacus replaces each BatchNorm over C
// channels by GroupNorm(min(32, C), C)). `forward(x, tape)` records every layer holding parameters
// in a dp::LayerTape for per-example clipping.

#include <string>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <dp/layer_tape.hpp>

#include "classifier.hpp"

namespace panoramia::wrn {

struct WideResNetOptions {
  std::int64_t depth = 28;  // 6n+4
  std::int64_t width = 10;  // widening factor k
  double dropout = 0.3;
  std::int64_t in_channels = 3;
  std::int64_t classes = 10;
  std::string norm = "batch";  // batch | group
  std::int64_t groups = 32;    // GroupNorm: min(groups, channels) groups
};

/// A normalisation layer of the network: BatchNorm2d (registered as `bn<i>`, the original names)
/// or GroupNorm (`gn<i>`) over `channels`, as `options.norm` says.
struct WideNorm {
  WideNorm() = default;
  WideNorm(torch::nn::Module& owner, const std::string& suffix, std::int64_t channels,
           const WideResNetOptions& options);
  torch::Tensor operator()(const torch::Tensor& x, dp::LayerTape* tape);

  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::GroupNorm gn{nullptr};
};

class WideBlockImpl : public torch::nn::Module {
 public:
  WideBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride,
                const WideResNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, dp::LayerTape* tape = nullptr);

 private:
  WideNorm norm1_, norm2_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
  double dropout_;
};
TORCH_MODULE(WideBlock);

class WideResNetImpl : public image::ImageClassifierImpl {
 public:
  explicit WideResNetImpl(const WideResNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x) override { return forward(x, nullptr); }
  /// The forward pass, recording every layer with parameters in `tape` when it is not null.
  torch::Tensor forward(const torch::Tensor& x, dp::LayerTape* tape);
  /// Kaiming-normal (fan-out) convolutions, default linear layer, zero bias, as the reference.
  void reset_parameters(at::Generator& generator) override;
  const WideResNetOptions& options() const { return options_; }

 private:
  WideResNetOptions options_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
  WideNorm norm_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(WideResNet);

}  // namespace panoramia::wrn
