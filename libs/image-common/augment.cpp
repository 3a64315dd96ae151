#include "augment.hpp"

#include <torch/torch.h>

namespace panoramia::image {

at::Tensor augment(const at::Tensor& x, const AugmentOptions& options, at::Generator& generator) {
  const std::int64_t n = x.size(0);
  auto out = x;
  if (options.flip) {
    const auto flip = (torch::rand({n}, generator) < 0.5).to(x.device()).view({n, 1, 1, 1});
    out = torch::where(flip, out.flip({3}), out);
  }
  const std::int64_t p = options.crop_padding;
  if (p > 0) {
    const std::int64_t h = x.size(2), w = x.size(3);
    const auto padded = torch::constant_pad_nd(out, {p, p, p, p}, 0.0);
    const auto offsets = torch::randint(0, 2 * p + 1, {n, 2}, generator, torch::kInt64);
    const auto* off = offsets.data_ptr<std::int64_t>();
    auto cropped = torch::empty_like(x);
    for (std::int64_t i = 0; i < n; ++i)
      cropped[i].copy_(padded[i].narrow(1, off[2 * i], h).narrow(2, off[2 * i + 1], w));
    out = cropped;
  }
  return out;
}

}  // namespace panoramia::image
