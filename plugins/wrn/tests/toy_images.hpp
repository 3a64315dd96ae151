#pragma once
// The wrn tests' data: two classes told apart by where a bright square sits, with per-image
// noise: learnable, but only a model that saw an image can drive its loss to near zero.

#include <cstdint>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <panoramia/data.hpp>

namespace panoramia::wrn {

/// `n` grey 12x12 images drawn from a generator seeded with `seed`.
inline Batch toy_images(std::int64_t n, std::uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  Batch b;
  b.x = torch::rand({n, 1, 12, 12}, g) * 0.3;
  b.y = torch::randint(0, 2, {n}, g, torch::kInt64);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t col = b.y[i].item<std::int64_t>() == 0 ? 1 : 7;
    b.x[i].narrow(1, 3, 4).narrow(2, col, 4).add_(0.6);
  }
  b.modality = "image";
  return b;
}

}  // namespace panoramia::wrn
