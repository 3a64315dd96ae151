#pragma once
// Vision Transformer (Dosovitskiy et al., ICLR 2021) with torchvision's module layout, so that a
// torchvision state dict (vit_b_16 and the like) loads by name: class_token, conv_proj,
// encoder.pos_embedding, encoder.layers.encoder_layer_<i>.{ln_1, self_attention, ln_2, mlp},
// encoder.ln, heads.head.

#include <string>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "classifier.hpp"

namespace panoramia::vit {

struct VitOptions {
  std::int64_t image_size = 224;  // side of the (resized) input
  std::int64_t patch = 16;
  std::int64_t width = 384;  // hidden size D
  std::int64_t depth = 12;
  std::int64_t heads = 6;
  double mlp_ratio = 4.0;
  double dropout = 0.0;
  std::int64_t in_channels = 3;
  std::int64_t classes = 1000;

  std::int64_t mlp_width() const { return std::int64_t(double(width) * mlp_ratio); }
  std::int64_t tokens() const { return (image_size / patch) * (image_size / patch) + 1; }
  /// Throws naming the inconsistent value.
  void validate() const;
};

/// Presets: tiny (ViT-Ti/16: 192 wide, 12 deep, 3 heads), small (ViT-S/16: 384, 12, 6) and base
/// (ViT-B/16: 768, 12, 12); all patch 16 at 224 px with MLP ratio 4.
VitOptions vit_preset(const std::string& name);

/// Multi-head self-attention with nn.MultiheadAttention's parameter names (in_proj_weight,
/// in_proj_bias, out_proj).
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(std::int64_t width, std::int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // [n, tokens, width]

 private:
  std::int64_t heads_;
  torch::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear out_proj_{nullptr};
};
TORCH_MODULE(SelfAttention);

class EncoderBlockImpl : public torch::nn::Module {
 public:
  EncoderBlockImpl(const VitOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::LayerNorm ln_1_{nullptr}, ln_2_{nullptr};
  SelfAttention self_attention_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
  double dropout_;
};
TORCH_MODULE(EncoderBlock);

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const VitOptions& options);
  torch::Tensor forward(const torch::Tensor& tokens);
  torch::Tensor pos_embedding;

 private:
  torch::nn::Sequential layers_{nullptr};
  torch::nn::LayerNorm ln_{nullptr};
  double dropout_;
};
TORCH_MODULE(Encoder);

class VisionTransformerImpl : public image::ImageClassifierImpl {
 public:
  explicit VisionTransformerImpl(const VitOptions& options);
  /// Images [n, C, H, W] (resized to image_size when they differ; one channel repeated when the
  /// network expects three) -> logits [n, classes].
  torch::Tensor forward(const torch::Tensor& x) override;
  /// torchvision's initialisation, drawn from `generator`.
  void reset_parameters(at::Generator& generator) override;
  const VitOptions& options() const { return options_; }
  /// The parameters of everything but heads.* (frozen when fine-tuning a linear head).
  std::vector<torch::Tensor> backbone_parameters();

 private:
  VitOptions options_;
  torch::Tensor class_token_;
  torch::nn::Conv2d conv_proj_{nullptr};
  Encoder encoder_{nullptr};
  torch::nn::Sequential heads_{nullptr};
};
TORCH_MODULE(VisionTransformer);

}  // namespace panoramia::vit
