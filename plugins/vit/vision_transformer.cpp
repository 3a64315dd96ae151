#include "vision_transformer.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

#include "random.hpp"

namespace panoramia::vit {

void VitOptions::validate() const {
  if (patch < 1 || image_size % patch != 0)
    throw std::invalid_argument("ViT image_size " + std::to_string(image_size) +
                                " is not a multiple of the patch size " + std::to_string(patch));
  if (heads < 1 || width % heads != 0)
    throw std::invalid_argument("ViT width " + std::to_string(width) +
                                " is not a multiple of the number of heads " +
                                std::to_string(heads));
  if (depth < 1 || mlp_ratio <= 0 || classes < 1 || in_channels < 1)
    throw std::invalid_argument("ViT depth, mlp_ratio, classes and channels must be positive");
}

VitOptions vit_preset(const std::string& name) {
  VitOptions o;
  if (name == "tiny") {
    o.width = 192;
    o.heads = 3;
  } else if (name == "small") {
    o.width = 384;
    o.heads = 6;
  } else if (name == "base") {
    o.width = 768;
    o.heads = 12;
  } else {
    throw std::invalid_argument("unknown ViT preset '" + name + "' (tiny, small, base)");
  }
  return o;
}

SelfAttentionImpl::SelfAttentionImpl(std::int64_t width, std::int64_t heads) : heads_(heads) {
  in_proj_weight_ = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias_ = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj_ = register_module("out_proj", torch::nn::Linear(width, width));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x) {
  const auto n = x.size(0), t = x.size(1), d = x.size(2);
  const auto qkv = torch::linear(x, in_proj_weight_, in_proj_bias_)
                       .view({n, t, 3, heads_, d / heads_})
                       .permute({2, 0, 3, 1, 4});  // [3, n, heads, t, d/heads]
  const auto q = qkv[0], k = qkv[1], v = qkv[2];
  const auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(d / heads_));
  const auto out = torch::matmul(torch::softmax(scores, -1), v);  // [n, heads, t, d/heads]
  return out_proj_->forward(out.transpose(1, 2).reshape({n, t, d}));
}

EncoderBlockImpl::EncoderBlockImpl(const VitOptions& o) : dropout_(o.dropout) {
  const auto ln = torch::nn::LayerNormOptions({o.width}).eps(1e-6);
  ln_1_ = register_module("ln_1", torch::nn::LayerNorm(ln));
  self_attention_ = register_module("self_attention", SelfAttention(o.width, o.heads));
  ln_2_ = register_module("ln_2", torch::nn::LayerNorm(ln));
  // Indices 0 and 3 are the linear layers, as torchvision's MLPBlock (mlp.0, mlp.3).
  mlp_ =
      register_module("mlp", torch::nn::Sequential(torch::nn::Linear(o.width, o.mlp_width()),
                                                   torch::nn::GELU(), torch::nn::Dropout(o.dropout),
                                                   torch::nn::Linear(o.mlp_width(), o.width),
                                                   torch::nn::Dropout(o.dropout)));
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x) {
  auto y = self_attention_->forward(ln_1_->forward(x));
  const auto h = x + scoped_dropout(y, dropout_, is_training());
  return h + mlp_->forward(ln_2_->forward(h));
}

EncoderImpl::EncoderImpl(const VitOptions& o) : dropout_(o.dropout) {
  pos_embedding = register_parameter("pos_embedding", torch::zeros({1, o.tokens(), o.width}));
  torch::nn::Sequential layers;
  for (std::int64_t i = 0; i < o.depth; ++i)
    layers->push_back("encoder_layer_" + std::to_string(i), EncoderBlock(o));
  layers_ = register_module("layers", layers);
  ln_ =
      register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width}).eps(1e-6)));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& tokens) {
  auto x = scoped_dropout(tokens + pos_embedding, dropout_, is_training());
  return ln_->forward(layers_->forward(x));
}

VisionTransformerImpl::VisionTransformerImpl(const VitOptions& o) : options_(o) {
  o.validate();
  class_token_ = register_parameter("class_token", torch::zeros({1, 1, o.width}));
  conv_proj_ = register_module(
      "conv_proj",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels, o.width, o.patch).stride(o.patch)));
  encoder_ = register_module("encoder", Encoder(o));
  torch::nn::Sequential heads;
  heads->push_back("head", torch::nn::Linear(o.width, o.classes));
  heads_ = register_module("heads", heads);
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& input) {
  auto x = input;
  if (x.size(1) == 1 && options_.in_channels == 3) x = x.expand({-1, 3, -1, -1});
  if (x.size(2) != options_.image_size || x.size(3) != options_.image_size)
    x = torch::upsample_bilinear2d(x, {options_.image_size, options_.image_size}, false);
  const auto n = x.size(0);
  x = conv_proj_->forward(x).flatten(2).transpose(1, 2);  // [n, patches, width]
  x = torch::cat({class_token_.expand({n, -1, -1}), x}, 1);
  x = encoder_->forward(x);
  return heads_->forward(x.select(1, 0));
}

void VisionTransformerImpl::reset_parameters(at::Generator& g) {
  image::default_init(*this, g);
  torch::NoGradGuard guard;
  // As torchvision: patch projection truncated-normal with std sqrt(1/fan_in), MLP layers
  // Xavier-uniform with tiny biases, attention Xavier-uniform, position embedding N(0, 0.02^2),
  // zero class token and zero head.
  const double fan_in = double(conv_proj_->weight.numel() / conv_proj_->weight.size(0));
  image::trunc_normal(conv_proj_->weight, std::sqrt(1.0 / fan_in), g);
  conv_proj_->bias.zero_();
  auto xavier = [&](torch::Tensor w) {
    const double bound = std::sqrt(6.0 / double(w.size(0) + w.size(1)));
    w.copy_(torch::rand(w.sizes(), g, torch::kFloat32) * (2 * bound) - bound);
  };
  for (auto& m : encoder_->modules(false)) {
    if (auto* attention = dynamic_cast<SelfAttentionImpl*>(m.get())) {
      for (auto& p : attention->named_parameters(false)) {
        if (p.key() == "in_proj_weight") xavier(p.value());
        if (p.key() == "in_proj_bias") p.value().zero_();
      }
    }
  }
  for (auto& p : encoder_->named_parameters()) {
    if (p.key().find(".mlp.") == std::string::npos) continue;
    if (p.value().dim() == 2)
      xavier(p.value());
    else
      p.value().copy_(torch::randn(p.value().sizes(), g, torch::kFloat32) * 1e-6);
  }
  encoder_->pos_embedding.copy_(torch::randn(encoder_->pos_embedding.sizes(), g, torch::kFloat32) *
                                0.02);
  class_token_.zero_();
  for (auto& p : heads_->parameters()) p.zero_();
}

std::vector<torch::Tensor> VisionTransformerImpl::backbone_parameters() {
  std::vector<torch::Tensor> out;
  for (auto& p : named_parameters())
    if (p.key().rfind("heads.", 0) != 0) out.push_back(p.value());
  return out;
}

}  // namespace panoramia::vit
