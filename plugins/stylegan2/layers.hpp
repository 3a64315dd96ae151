#pragma once
// StyleGAN2 building blocks (Karras et al., CVPR 2020): equalised-learning-rate layers, FIR
// resampling with the [1,3,3,1] filter, modulated 3x3 convolutions with weight demodulation and
// per-layer noise, and the toRGB layer. Parameters are drawn by `reset_parameters(generator)`.

#include <string>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <panoramia/distributed.hpp>

namespace panoramia::stylegan2 {

/// Where a forward's rows sit in a data-parallel global batch: rows [begin, begin + n) of `total`
/// (n the forward's own row count). Random draws (noise, augmentation) are made for all `total`
/// rows, exactly as one process draws them, and the forward's rows are sliced out, so every rank
/// consumes the same numbers from the generator. `comm` (when set, with several ranks) sums the
/// statistics of training-mode buffers over the ranks (the mapping network's w_avg). The default
/// is a whole batch in one process.
struct Shard {
  std::int64_t begin = 0;
  std::int64_t total = -1;  // < 0: the forward's rows are the whole batch
  Communicator* comm = nullptr;

  /// The global row count for a forward of `rows` rows.
  std::int64_t global(std::int64_t rows) const { return total < 0 ? rows : total; }
  /// Rows [begin, begin + rows) of `t`, drawn for the global batch (the whole of it when whole).
  at::Tensor rows_of(const at::Tensor& t, std::int64_t rows) const {
    return total < 0 ? t : t.slice(0, begin, begin + rows);
  }
};

/// Modules whose parameters are drawn from a seeded generator (walked by `reset_all`).
class Reinitializable {
 public:
  virtual ~Reinitializable() = default;
  virtual void reset_parameters(at::Generator& generator) = 0;
};
/// Calls `reset_parameters` on every Reinitializable submodule of `module` (and itself).
void reset_all(torch::nn::Module& module, at::Generator& generator);

/// x / sqrt(mean(x^2 over dim 1) + eps).
torch::Tensor normalize_2nd_moment(const torch::Tensor& x);
/// Leaky ReLU(0.2) scaled by sqrt(2) to keep unit variance.
torch::Tensor lrelu_gain(const torch::Tensor& x);
/// 2x upsampling: zero insertion, then the [1,3,3,1] FIR filter (gain 4).
torch::Tensor upsample2x(const torch::Tensor& x);
/// The [1,3,3,1] FIR filter with "same" padding (the blur before a stride-2 layer).
torch::Tensor blur(const torch::Tensor& x);

/// Fully connected layer with equalised learning rate: weights N(0, 1/lr_mul^2) scaled at run time
/// by lr_mul/sqrt(in); bias initialised to `bias_init` and scaled by lr_mul.
class EqualLinearImpl : public torch::nn::Module, public Reinitializable {
 public:
  EqualLinearImpl(std::int64_t in, std::int64_t out, bool activation, double bias_init = 0.0,
                  double lr_mul = 1.0);
  torch::Tensor forward(const torch::Tensor& x);
  void reset_parameters(at::Generator& generator) override;

 private:
  torch::Tensor weight_, bias_;
  bool activation_;
  double bias_init_, lr_mul_, weight_gain_;
};
TORCH_MODULE(EqualLinear);

/// Convolution with equalised learning rate, optional leaky-ReLU, optional 2x downsampling (blur
/// then stride 2), optional bias.
class EqualConvImpl : public torch::nn::Module, public Reinitializable {
 public:
  EqualConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, bool activation,
                bool down = false, bool bias = true, double gain = 1.0);
  torch::Tensor forward(const torch::Tensor& x);
  void reset_parameters(at::Generator& generator) override;

 private:
  torch::Tensor weight_, bias_;
  std::int64_t kernel_;
  bool activation_, down_;
  double weight_gain_, gain_;
};
TORCH_MODULE(EqualConv);

/// How synthesis layers add noise: fresh per call (training), the layer's fixed noise image
/// (generation, as the reference's noise_mode 'const'), or none.
enum class NoiseMode { kRandom, kConst, kNone };
NoiseMode noise_mode_from(const std::string& name);

/// Modulated 3x3 convolution with demodulation (computed as scale-conv-rescale, the reference's
/// non-fused path), optional 2x upsampling first, noise, bias and leaky ReLU.
class SynthesisLayerImpl : public torch::nn::Module, public Reinitializable {
 public:
  SynthesisLayerImpl(std::int64_t in, std::int64_t out, std::int64_t w_dim, std::int64_t resolution,
                     bool up);
  /// With NoiseMode::kRandom the noise is drawn for `shard`'s global batch and sliced.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode noise,
                        at::Generator* generator, const Shard& shard = {});
  void reset_parameters(at::Generator& generator) override;

 private:
  EqualLinear affine_{nullptr};
  torch::Tensor weight_, bias_, noise_strength_, noise_const_;
  std::int64_t resolution_;
  bool up_;
};
TORCH_MODULE(SynthesisLayer);

/// Modulated 1x1 convolution to image channels without demodulation, plus bias.
class ToRgbImpl : public torch::nn::Module, public Reinitializable {
 public:
  ToRgbImpl(std::int64_t in, std::int64_t channels, std::int64_t w_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w);
  void reset_parameters(at::Generator& generator) override;

 private:
  EqualLinear affine_{nullptr};
  torch::Tensor weight_, bias_;
  double weight_gain_;
};
TORCH_MODULE(ToRgb);

}  // namespace panoramia::stylegan2
