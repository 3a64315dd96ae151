#include "wide_resnet.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::wrn {
namespace {

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                       std::int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

WideBlockImpl::WideBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride, double dropout)
    : dropout_(dropout) {
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(in));
  conv1_ = register_module("conv1", conv(in, out, 3, stride));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv(out, out, 3, 1));
  if (in != out || stride != 1) shortcut_ = register_module("shortcut", conv(in, out, 1, stride));
}

torch::Tensor WideBlockImpl::forward(const torch::Tensor& x) {
  const auto pre = torch::relu(bn1_->forward(x));
  auto out = conv1_->forward(pre);
  out = torch::relu(bn2_->forward(out));
  out = image::seeded_dropout(out, dropout_, is_training());
  out = conv2_->forward(out);
  // The projection shortcut reads the pre-activated input, as in the original WRN.
  return out + (shortcut_ ? shortcut_->forward(pre) : x);
}

WideResNetImpl::WideResNetImpl(const WideResNetOptions& options) : options_(options) {
  if (options.depth < 10 || (options.depth - 4) % 6 != 0)
    throw std::invalid_argument("WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 40), not " +
                                std::to_string(options.depth));
  if (options.width < 1) throw std::invalid_argument("WRN width must be at least 1");
  if (options.dropout < 0 || options.dropout >= 1)
    throw std::invalid_argument("WRN dropout must be in [0, 1)");
  const std::int64_t n = (options.depth - 4) / 6;
  const std::int64_t k = options.width;
  const std::int64_t widths[] = {16 * k, 32 * k, 64 * k};
  stem_ = register_module("stem", conv(options.in_channels, 16, 3, 1));
  torch::nn::Sequential blocks;
  std::int64_t in = 16;
  for (int group = 0; group < 3; ++group)
    for (std::int64_t b = 0; b < n; ++b) {
      const std::int64_t stride = (group > 0 && b == 0) ? 2 : 1;
      blocks->push_back(WideBlock(in, widths[group], stride, options.dropout));
      in = widths[group];
    }
  blocks_ = register_module("blocks", blocks);
  bn_ = register_module("bn", torch::nn::BatchNorm2d(in));
  fc_ = register_module("fc", torch::nn::Linear(in, options.classes));
}

void WideResNetImpl::reset_parameters(at::Generator& generator) {
  image::default_init(*this, generator);
  torch::NoGradGuard guard;
  for (auto& m : modules(false))
    if (auto* c = m->as<torch::nn::Conv2d>()) image::kaiming_normal_fan_out(c->weight, generator);
  fc_->bias.zero_();
}

torch::Tensor WideResNetImpl::forward(const torch::Tensor& x) {
  auto out = blocks_->forward(stem_->forward(x));
  out = torch::relu(bn_->forward(out));
  out = torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1);
  return fc_->forward(out);
}

}  // namespace panoramia::wrn
