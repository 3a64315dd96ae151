#pragma once
// Layers shared by the image networks (wrn, image-distinguisher).

#include <cstdint>

#include <torch/nn/modules/conv.h>

namespace panoramia::image {

/// A bias-free k x k convolution with "same" padding (k / 2), as ResNet blocks use.
inline torch::nn::Conv2d same_conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                   std::int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace panoramia::image
