#pragma once
// Training-time augmentation of image batches: random horizontal flips and random crops of the
// zero-padded image (the reference's RandomHorizontalFlip + RandomCrop(size, padding)).

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace panoramia::image {

struct AugmentOptions {
  bool flip = true;
  std::int64_t crop_padding = 4;  // 0: no crop
};

/// An augmented copy of `x` [n,C,H,W]. Draws come from `generator` (a CPU generator) so they are
/// reproducible; the result is on the device of `x`.
at::Tensor augment(const at::Tensor& x, const AugmentOptions& options, at::Generator& generator);

}  // namespace panoramia::image
