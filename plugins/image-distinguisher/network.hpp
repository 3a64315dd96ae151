#pragma once
// The image distinguisher network: a ResNet-style CNN on the image and an MLP on the side model's
// loss features, joined by a linear layer into one member-vs-generated logit. Both branches are
// trained together on aligned rows (the reference stacks two separately trained, misaligned
// classifiers; docs/method.md §6.2-6.3).

#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

namespace panoramia::distinguisher {

/// A ResNet-18-style encoder for small images (kuangliu's CIFAR layout: 3x3 stem, no max-pool):
/// stages of basic blocks with width, 2x, 4x, 8x channels, stride 2 from the second stage on,
/// global average pooling. Default: ResNet-18 (blocks 2,2,2,2, width 64).
struct EncoderOptions {
  std::int64_t in_channels = 3;
  std::int64_t width = 64;
  std::vector<std::int64_t> blocks{2, 2, 2, 2};
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const EncoderOptions& options);
  /// [n,C,H,W] normalised images -> [n, out_features()].
  torch::Tensor forward(const torch::Tensor& x);
  std::int64_t out_features() const { return out_features_; }

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential stages_{nullptr};
  std::int64_t out_features_ = 0;
};
TORCH_MODULE(Encoder);

struct DistinguisherOptions {
  bool image_branch = true;
  EncoderOptions encoder;
  std::int64_t features = 0;  // width of the side features (0: no feature branch)
  std::vector<std::int64_t> mlp_hidden{32, 32};
  double dropout = 0.0;  // before the joint layer
};

class DistinguisherImpl : public torch::nn::Module {
 public:
  explicit DistinguisherImpl(const DistinguisherOptions& options);
  /// Member logits [n] from normalised images [n,C,H,W] (ignored without an image branch) and
  /// standardised features [n,d] (ignored without a feature branch).
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& features);
  const DistinguisherOptions& options() const { return options_; }

 private:
  DistinguisherOptions options_;
  Encoder encoder_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Distinguisher);

}  // namespace panoramia::distinguisher
