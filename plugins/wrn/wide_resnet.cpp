#include "wide_resnet.hpp"

#include <algorithm>
#include <stdexcept>

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

#include "layers.hpp"

namespace panoramia::wrn {
using image::same_conv;

WideNorm::WideNorm(torch::nn::Module& owner, const std::string& suffix, std::int64_t channels,
                   const WideResNetOptions& options) {
  if (options.norm == "batch") {
    bn = owner.register_module("bn" + suffix, torch::nn::BatchNorm2d(channels));
  } else if (options.norm == "group") {
    const std::int64_t groups = std::min(options.groups, channels);
    if (groups < 1 || channels % groups != 0)
      throw std::invalid_argument("WRN GroupNorm: " + std::to_string(groups) +
                                  " groups do not divide " + std::to_string(channels) +
                                  " channels (option norm_groups)");
    gn = owner.register_module("gn" + suffix, torch::nn::GroupNorm(groups, channels));
  } else {
    throw std::invalid_argument("WRN normalisation must be batch or group, not '" + options.norm +
                                "'");
  }
}

torch::Tensor WideNorm::operator()(const torch::Tensor& x, dp::LayerTape* tape) {
  return bn ? batch_norm(bn, x) : dp::record(tape, *gn, x);
}

WideBlockImpl::WideBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride,
                             const WideResNetOptions& options)
    : dropout_(options.dropout) {
  norm1_ = WideNorm(*this, "1", in, options);
  conv1_ = register_module("conv1", same_conv(in, out, 3, stride));
  norm2_ = WideNorm(*this, "2", out, options);
  conv2_ = register_module("conv2", same_conv(out, out, 3, 1));
  if (in != out || stride != 1)
    shortcut_ = register_module("shortcut", same_conv(in, out, 1, stride));
}

torch::Tensor WideBlockImpl::forward(const torch::Tensor& x, dp::LayerTape* tape) {
  const auto pre = torch::relu(norm1_(x, tape));
  auto out = dp::record(tape, *conv1_, pre);
  out = torch::relu(norm2_(out, tape));
  out = scoped_dropout(out, dropout_, is_training());
  out = dp::record(tape, *conv2_, out);
  // The projection shortcut reads the pre-activated input, as in the original WRN.
  return out + (shortcut_ ? dp::record(tape, *shortcut_, pre) : x);
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
  stem_ = register_module("stem", same_conv(options.in_channels, 16, 3, 1));
  torch::nn::Sequential blocks;
  std::int64_t in = 16;
  for (int group = 0; group < 3; ++group)
    for (std::int64_t b = 0; b < n; ++b) {
      const std::int64_t stride = (group > 0 && b == 0) ? 2 : 1;
      blocks->push_back(WideBlock(in, widths[group], stride, options));
      in = widths[group];
    }
  blocks_ = register_module("blocks", blocks);
  norm_ = WideNorm(*this, "", in, options);
  fc_ = register_module("fc", torch::nn::Linear(in, options.classes));
}

void WideResNetImpl::reset_parameters(at::Generator& generator) {
  image::default_init(*this, generator);
  torch::NoGradGuard guard;
  for (auto& m : modules(false))
    if (auto* c = m->as<torch::nn::Conv2d>()) image::kaiming_normal_fan_out(c->weight, generator);
  fc_->bias.zero_();
}

torch::Tensor WideResNetImpl::forward(const torch::Tensor& x, dp::LayerTape* tape) {
  auto out = dp::record(tape, *stem_, x);
  for (auto& block : *blocks_) out = block.ptr<WideBlockImpl>()->forward(out, tape);
  out = torch::relu(norm_(out, tape));
  out = torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1);
  return dp::record(tape, *fc_, out);
}

}  // namespace panoramia::wrn
