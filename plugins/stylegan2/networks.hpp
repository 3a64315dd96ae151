#pragma once
// The StyleGAN2 generator (mapping network + skip-architecture synthesis network) and the
// residual/orig discriminator with minibatch standard deviation and projection conditioning, in
// the layout of the reference implementation (NVlabs stylegan2-ada-pytorch) at small resolutions.

#include <vector>

#include <torch/nn/modules/container/modulelist.h>

#include "layers.hpp"

namespace panoramia::stylegan2 {

struct NetworkOptions {
  std::int64_t z_dim = 512;
  std::int64_t w_dim = 512;
  std::int64_t classes = 10;  // 0: unconditional
  std::int64_t mapping_layers = 2;
  std::int64_t d_mapping_layers = 8;
  std::int64_t channels = 3;     // image channels
  std::int64_t resolution = 32;  // output side (a power of two times the base resolution)
  std::int64_t channel_base = 32768;
  std::int64_t channel_max = 512;
  std::int64_t mbstd_group = 32;
  bool resnet_discriminator = false;  // 'orig' otherwise (the cifar preset's)

  /// Side of the constant input: the resolution halved while it stays even and at least 8.
  std::int64_t base_resolution() const;
  /// Feature maps at `resolution`: min(channel_base / resolution, channel_max).
  std::int64_t channels_at(std::int64_t resolution) const;
  /// Throws naming the bad value.
  void validate() const;
};

/// z (and a one-hot label) -> w. Both inputs are normalised to unit second moment, the label
/// through a linear embedding; then `layers` fully connected layers with learning-rate
/// multiplier 0.01 (z_dim = 0 gives the discriminator's label mapping).
class MappingNetworkImpl : public torch::nn::Module {
 public:
  MappingNetworkImpl(std::int64_t z_dim, std::int64_t classes, std::int64_t w_dim,
                     std::int64_t layers, double lr_mul = 0.01);
  /// In training mode also updates w_avg with the batch's mean w; with `comm` (several ranks, each
  /// holding its shard of the batch) the mean of the global batch.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& one_hot,
                        Communicator* comm = nullptr);
  /// Running mean of w (for truncation), updated in training mode.
  torch::Tensor w_avg;

 private:
  std::int64_t z_dim_, classes_;
  EqualLinear embed_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(MappingNetwork);

class SynthesisBlockImpl : public torch::nn::Module {
 public:
  SynthesisBlockImpl(std::int64_t in, std::int64_t out, std::int64_t w_dim, std::int64_t resolution,
                     std::int64_t channels, bool first);
  /// Updates `x` (features) and `img` (the running skip image).
  void forward(torch::Tensor& x, torch::Tensor& img, const torch::Tensor& w, NoiseMode noise,
               at::Generator* generator, const Shard& shard = {});

 private:
  torch::Tensor const_;
  SynthesisLayer conv0_{nullptr}, conv1_{nullptr};
  ToRgb torgb_{nullptr};
  bool first_;
  friend class GeneratorNetImpl;
};
TORCH_MODULE(SynthesisBlock);

class GeneratorNetImpl : public torch::nn::Module, public Reinitializable {
 public:
  explicit GeneratorNetImpl(const NetworkOptions& options);
  /// Images in about [-1, 1], [n, channels, resolution, resolution], for latents z [n, z_dim]
  /// and integer labels [n]. `generator` is needed for NoiseMode::kRandom. For data-parallel
  /// training z and labels are this rank's rows of `shard`'s global batch: the noise is drawn for
  /// the global batch (as one process draws it) and w_avg follows the global mean.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels, NoiseMode noise,
                        at::Generator* generator, double truncation_psi = 1.0,
                        const Shard& shard = {});
  void reset_parameters(at::Generator& generator) override;
  const NetworkOptions& options() const { return options_; }

 private:
  NetworkOptions options_;
  MappingNetwork mapping_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
};
TORCH_MODULE(GeneratorNet);

class DiscriminatorBlockImpl : public torch::nn::Module {
 public:
  DiscriminatorBlockImpl(std::int64_t in, std::int64_t out, std::int64_t channels, bool first,
                         bool resnet);
  torch::Tensor forward(const torch::Tensor& x_or_img);

 private:
  EqualConv fromrgb_{nullptr}, conv0_{nullptr}, conv1_{nullptr}, skip_{nullptr};
};
TORCH_MODULE(DiscriminatorBlock);

/// Minibatch standard deviation (one extra channel over groups of `group` samples). As in the
/// reference the groups are strided (row i is in group i mod n/group), so they cannot be formed
/// from a contiguous shard: in data-parallel training each rank groups its own rows (the
/// reference's per-GPU behaviour), which equals one process only for groups of 1.
torch::Tensor minibatch_stddev(const torch::Tensor& x, std::int64_t group);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const NetworkOptions& options);
  /// Realness logits [n] of images [n, channels, resolution, resolution] with labels [n].
  torch::Tensor forward(const torch::Tensor& img, const torch::Tensor& labels);
  const NetworkOptions& options() const { return options_; }

 private:
  NetworkOptions options_;
  torch::nn::ModuleList blocks_{nullptr};
  MappingNetwork mapping_{nullptr};
  EqualConv epilogue_conv_{nullptr};
  EqualLinear epilogue_fc_{nullptr}, out_{nullptr};
  std::int64_t cmap_dim_ = 0;
};
TORCH_MODULE(Discriminator);

}  // namespace panoramia::stylegan2
