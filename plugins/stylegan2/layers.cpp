#include "layers.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::stylegan2 {
namespace {

const double kSqrt2 = std::sqrt(2.0);

/// The normalised 4x4 outer product of [1,3,3,1] times `gain`, as a depthwise kernel for
/// `channels`.
torch::Tensor fir_kernel(std::int64_t channels, double gain, const torch::TensorOptions& options) {
  const auto f = torch::tensor({1.0f, 3.0f, 3.0f, 1.0f}, options);
  auto k = torch::outer(f, f);
  k = k / k.sum() * gain;
  return k.view({1, 1, 4, 4}).expand({channels, 1, 4, 4});
}

torch::Tensor depthwise_fir(const torch::Tensor& x, double gain) {
  // A 4-tap filter needs 3 pixels of padding to keep the size: 2 before, 1 after.
  const auto padded = torch::constant_pad_nd(x, {2, 1, 2, 1}, 0.0);
  const std::int64_t stride[] = {1, 1}, padding[] = {0, 0}, dilation[] = {1, 1};
  return torch::conv2d(padded, fir_kernel(x.size(1), gain, x.options()), at::Tensor(), stride,
                       padding, dilation, x.size(1));
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
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto up = torch::zeros({n, c, h, 2, w, 2}, x.options());
  up.select(5, 0).select(3, 0).copy_(x);
  return depthwise_fir(up.view({n, c, 2 * h, 2 * w}), 4.0);
}

torch::Tensor blur(const torch::Tensor& x) {
  return depthwise_fir(x, 1.0);
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
                                          NoiseMode noise, at::Generator* generator) {
  const auto styles = affine_->forward(w);  // [n, in]
  auto out = x * styles.unsqueeze(2).unsqueeze(3);
  if (up_) out = upsample2x(out);
  out = torch::conv2d(out, weight_, at::Tensor(), 1, 1);
  // Demodulation: each output channel of the style-scaled weight gets unit L2 norm per sample.
  const auto scaled = weight_.unsqueeze(0) * styles.unsqueeze(1).unsqueeze(3).unsqueeze(4);
  const auto demod = torch::rsqrt(scaled.square().sum({2, 3, 4}) + 1e-8);  // [n, out]
  out = out * demod.unsqueeze(2).unsqueeze(3);
  if (noise == NoiseMode::kRandom) {
    const auto n =
        torch::randn({out.size(0), 1, resolution_, resolution_}, *generator, torch::kFloat32);
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
