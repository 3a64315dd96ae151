#pragma once
// Adaptive discriminator augmentation (Karras et al., NeurIPS 2020), a subset of the reference's
// 'bgc' pipeline: x-flip, 90-degree rotation, integer translation, isotropic scaling and
// rotation (one differentiable resampling), then brightness, contrast and (RGB) saturation. Each
// transform is applied per image with probability p; p follows the sign of D's outputs on the
// reals towards a target.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "layers.hpp"

namespace panoramia::stylegan2 {

class AdaptiveAugment {
 public:
  /// `target`: the wanted E[sign(D(real))]; `speed_kimg`: thousands of images over which p can
  /// move from 0 to 1.
  AdaptiveAugment(double target = 0.6, double speed_kimg = 500)
      : target_(target), speed_kimg_(speed_kimg) {}

  /// Augments images in [-1,1] [n,C,H,W] (differentiably); identity when p == 0. The per-image
  /// parameters are drawn for `shard`'s global batch and the images' rows are taken from them
  /// (data-parallel training: every rank draws what one process draws).
  at::Tensor apply(const at::Tensor& images, at::Generator& generator,
                   const Shard& shard = {}) const;
  /// Records D's logits on the reals; every `interval` calls to `update` p is adjusted.
  void observe(const at::Tensor& real_logits);
  /// Adjusts p from the observations since the last adjustment, `images` being how many reals
  /// were shown since then. With `comm` (several ranks, each observing its shard) the ranks' sign
  /// sums and counts are summed first, so every rank takes the same step.
  void adjust(std::int64_t images, Communicator* comm = nullptr);

  double p() const { return p_; }
  void set_p(double p) { p_ = p; }

 private:
  double target_, speed_kimg_;
  double p_ = 0.0;
  double sign_sum_ = 0.0;
  std::int64_t sign_count_ = 0;
};

/// The bilinear, reflecting, twice-differentiable resampling the augmentation uses (exposed for
/// tests): `grid` as from affine_grid with align_corners = false.
at::Tensor resample_for_tests(const at::Tensor& x, const at::Tensor& grid);

}  // namespace panoramia::stylegan2
