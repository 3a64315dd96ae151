#include "layers.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::stylegan2 {
namespace {

const double kSqrt2 = std::sqrt(2.0);

// The [1,3,3,1] FIR filter is separable, and with zero insertion it reduces to fixed weights per
// output phase, so both resampling steps are a few element-wise operations on shifted slices
// (a depthwise 4x4 convolution is an order of magnitude slower on the CPU).

/// 2x upsampling along `dim`: zero insertion then [1,3,3,1]/4 (gain 2), zero padding outside.
torch::Tensor upsample_dim(const torch::Tensor& x, std::int64_t dim) {
  const std::int64_t n = x.size(dim);
  const auto padded = torch::constant_pad_nd(x.transpose(dim, -1), {1, 1}, 0.0).transpose(dim, -1);
  const auto prev = padded.narrow(dim, 0, n), cur = padded.narrow(dim, 1, n),
             next = padded.narrow(dim, 2, n);
  const auto even = prev * 0.25 + cur * 0.75;
  const auto odd = cur * 0.75 + next * 0.25;
  auto shape = x.sizes().vec();
  shape[dim] = 2 * n;
  return torch::stack({even, odd}, dim + 1).reshape(shape);
}

/// [1,3,3,1]/8 along `dim` with 2 zeros before and 1 after (the size is kept).
torch::Tensor blur_dim(const torch::Tensor& x, std::int64_t dim) {
  const std::int64_t n = x.size(dim);
  const auto padded = torch::constant_pad_nd(x.transpose(dim, -1), {2, 1}, 0.0).transpose(dim, -1);
  return (padded.narrow(dim, 0, n) + padded.narrow(dim, 3, n) +
          (padded.narrow(dim, 1, n) + padded.narrow(dim, 2, n)) * 3.0) *
         0.125;
}

}  // namespace

void reset_all(torch::nn::Module& module, at::Generator& generator) {
  for (auto& m : module.modules(true))
    if (auto* r = dynamic_cast<Reinitializable*>(m.get())) r->reset_parameters(generator);
}

torch::Tensor normalize_2nd_moment(const torch::Tensor& x) {
  return x * torch::rsqrt(x.square().mean(1, true) + 1e-8);
}

torch::Tensor lrelu_gain(const torch::Tensor& x) {
  return torch::leaky_relu(x, 0.2) * kSqrt2;
}

torch::Tensor upsample2x(const torch::Tensor& x) {
  return upsample_dim(upsample_dim(x, 2), 3);
}

torch::Tensor blur(const torch::Tensor& x) {
  return blur_dim(blur_dim(x, 2), 3);
}

EqualLinearImpl::EqualLinearImpl(std::int64_t in, std::int64_t out, bool activation,
                                 double bias_init, double lr_mul)
    : activation_(activation),
      bias_init_(bias_init),
      lr_mul_(lr_mul),
      weight_gain_(lr_mul / std::sqrt(double(in))) {
  weight_ = register_parameter("weight", torch::zeros({out, in}));
  bias_ = register_parameter("bias", torch::zeros({out}));
}

void EqualLinearImpl::reset_parameters(at::Generator& g) {
  torch::NoGradGuard guard;
  weight_.copy_(torch::randn(weight_.sizes(), g, torch::kFloat32) / lr_mul_);
  bias_.fill_(bias_init_ / lr_mul_);
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& x) {
  auto out = torch::addmm(bias_ * lr_mul_, x, (weight_ * weight_gain_).t());
  return activation_ ? lrelu_gain(out) : out;
}

EqualConvImpl::EqualConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel,
                             bool activation, bool down, bool bias, double gain)
    : kernel_(kernel),
      activation_(activation),
      down_(down),
      weight_gain_(1.0 / std::sqrt(double(in * kernel * kernel))),
      gain_(gain) {
  weight_ = register_parameter("weight", torch::zeros({out, in, kernel, kernel}));
  if (bias) bias_ = register_parameter("bias", torch::zeros({out}));
}

void EqualConvImpl::reset_parameters(at::Generator& g) {
  torch::NoGradGuard guard;
  weight_.copy_(torch::randn(weight_.sizes(), g, torch::kFloat32));
  if (bias_.defined()) bias_.zero_();
}

torch::Tensor EqualConvImpl::forward(const torch::Tensor& x) {
  const auto input = down_ ? blur(x) : x;
  auto out = torch::conv2d(input, weight_ * weight_gain_, bias_, down_ ? 2 : 1, kernel_ / 2);
  if (activation_) out = lrelu_gain(out);
  return gain_ != 1.0 ? out * gain_ : out;
}

NoiseMode noise_mode_from(const std::string& name) {
  if (name == "random") return NoiseMode::kRandom;
  if (name == "const") return NoiseMode::kConst;
  if (name == "none") return NoiseMode::kNone;
  throw std::invalid_argument("unknown noise mode '" + name + "' (random, const, none)");
}

SynthesisLayerImpl::SynthesisLayerImpl(std::int64_t in, std::int64_t out, std::int64_t w_dim,
                                       std::int64_t resolution, bool up)
    : resolution_(resolution), up_(up) {
  affine_ = register_module("affine", EqualLinear(w_dim, in, false, 1.0));
  weight_ = register_parameter("weight", torch::zeros({out, in, 3, 3}));
  bias_ = register_parameter("bias", torch::zeros({out}));
  noise_strength_ = register_parameter("noise_strength", torch::zeros({}));
  noise_const_ = register_buffer("noise_const", torch::zeros({resolution, resolution}));
}

void SynthesisLayerImpl::reset_parameters(at::Generator& g) {
  torch::NoGradGuard guard;
  weight_.copy_(torch::randn(weight_.sizes(), g, torch::kFloat32));
  bias_.zero_();
  noise_strength_.zero_();
  noise_const_.copy_(torch::randn(noise_const_.sizes(), g, torch::kFloat32));
}

torch::Tensor SynthesisLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& w,
                                          NoiseMode noise, at::Generator* generator,
                                          const Shard& shard) {
  const auto styles = affine_->forward(w);  // [n, in]
  auto out = x * styles.unsqueeze(2).unsqueeze(3);
  if (up_) out = upsample2x(out);
  out = torch::conv2d(out, weight_, at::Tensor(), 1, 1);
  // Demodulation: each output channel of the style-scaled weight gets unit L2 norm per sample;
  // sum over (in, kh, kw) of (w s_in)^2 = sum over in of s_in^2 * |w[out, in]|^2, one matmul.
  const auto demod = torch::rsqrt(torch::matmul(styles.square(), weight_.square().sum({2, 3}).t()) +
                                  1e-8);  // [n, out]
  out = out * demod.unsqueeze(2).unsqueeze(3);
  if (noise == NoiseMode::kRandom) {
    const auto n =
        shard.rows_of(torch::randn({shard.global(out.size(0)), 1, resolution_, resolution_},
                                   *generator, torch::kFloat32),
                      out.size(0));
    out = out + n.to(out.device()) * noise_strength_;
  } else if (noise == NoiseMode::kConst) {
    out = out + noise_const_ * noise_strength_;
  }
  return lrelu_gain(out + bias_.view({1, -1, 1, 1}));
}

ToRgbImpl::ToRgbImpl(std::int64_t in, std::int64_t channels, std::int64_t w_dim)
    : weight_gain_(1.0 / std::sqrt(double(in))) {
  affine_ = register_module("affine", EqualLinear(w_dim, in, false, 1.0));
  weight_ = register_parameter("weight", torch::zeros({channels, in, 1, 1}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

void ToRgbImpl::reset_parameters(at::Generator& g) {
  torch::NoGradGuard guard;
  weight_.copy_(torch::randn(weight_.sizes(), g, torch::kFloat32));
  bias_.zero_();
}

torch::Tensor ToRgbImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
  const auto styles = affine_->forward(w) * weight_gain_;
  const auto out = torch::conv2d(x * styles.unsqueeze(2).unsqueeze(3), weight_);
  return out + bias_.view({1, -1, 1, 1});
}

}  // namespace panoramia::stylegan2
