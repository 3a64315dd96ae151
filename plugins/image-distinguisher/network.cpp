#include "network.hpp"

#include <stdexcept>

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

#include "layers.hpp"
#include "random.hpp"

namespace panoramia::distinguisher {
using image::same_conv;

BasicBlockImpl::BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride) {
  conv1_ = register_module("conv1", same_conv(in, out, 3, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", same_conv(out, out, 3, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (stride != 1 || in != out)
    shortcut_ = register_module("shortcut", torch::nn::Sequential(same_conv(in, out, 1, stride),
                                                                  torch::nn::BatchNorm2d(out)));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(batch_norm(bn1_, conv1_->forward(x)));
  out = batch_norm(bn2_, conv2_->forward(out));
  if (!shortcut_) return torch::relu(out + x);
  auto* shortcut_bn = shortcut_[1]->as<torch::nn::BatchNorm2d>();
  return torch::relu(out +
                     batch_norm(shortcut_bn, shortcut_[0]->as<torch::nn::Conv2d>()->forward(x)));
}

EncoderImpl::EncoderImpl(const EncoderOptions& o) {
  if (o.width < 1 || o.blocks.empty())
    throw std::invalid_argument(
        "the distinguisher CNN needs a positive width and at least one stage");
  stem_ = register_module("stem", same_conv(o.in_channels, o.width, 3, 1));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(o.width));
  torch::nn::Sequential stages;
  std::int64_t in = o.width;
  for (std::size_t s = 0; s < o.blocks.size(); ++s) {
    const std::int64_t out = o.width << s;
    for (std::int64_t b = 0; b < o.blocks[s]; ++b) {
      stages->push_back(BasicBlock(in, out, (s > 0 && b == 0) ? 2 : 1));
      in = out;
    }
  }
  stages_ = register_module("stages", stages);
  out_features_ = in;
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(batch_norm(stem_bn_, stem_->forward(x)));
  out = stages_->forward(out);
  return torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1);
}

DistinguisherImpl::DistinguisherImpl(const DistinguisherOptions& options) : options_(options) {
  std::int64_t joint = 0;
  if (options.image_branch) {
    encoder_ = register_module("encoder", Encoder(options.encoder));
    joint += encoder_->out_features();
  }
  if (options.features > 0) {
    torch::nn::Sequential mlp;
    std::int64_t width = options.features;
    for (const auto h : options.mlp_hidden) {
      mlp->push_back(torch::nn::Linear(width, h));
      mlp->push_back(torch::nn::Functional(torch::relu));
      width = h;
    }
    if (options.mlp_hidden.empty()) mlp->push_back(torch::nn::Identity());
    mlp_ = register_module("mlp", mlp);
    joint += width;
  }
  if (joint == 0)
    throw std::invalid_argument("the distinguisher has neither an image nor a feature branch");
  head_ = register_module("head", torch::nn::Linear(joint, 1));
}

torch::Tensor DistinguisherImpl::forward(const torch::Tensor& images,
                                         const torch::Tensor& features) {
  std::vector<torch::Tensor> parts;
  if (encoder_) parts.push_back(encoder_->forward(images));
  if (mlp_) parts.push_back(mlp_->forward(features));
  auto joint = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
  joint = scoped_dropout(joint, options_.dropout, is_training());
  return head_->forward(joint).squeeze(1);
}

}  // namespace panoramia::distinguisher
