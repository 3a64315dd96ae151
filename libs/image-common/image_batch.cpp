#include "image_batch.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::image {

void check_image_batch(const Batch& batch, const std::string& what, bool need_labels) {
  if (!batch.x.defined() || batch.x.dim() != 4)
    throw std::invalid_argument(what + " is not a batch of images [n,C,H,W]" +
                                (batch.x.defined()
                                     ? " (it has " + std::to_string(batch.x.dim()) +
                                           " dimensions, modality '" + batch.modality + "')"
                                     : std::string()));
  if (!batch.x.is_floating_point())
    throw std::invalid_argument(what + " holds non-floating-point images");
  if (!need_labels) return;
  if (!batch.y.defined() || batch.y.dim() != 1 || batch.y.size(0) != batch.x.size(0))
    throw std::invalid_argument(what + " needs one class label per image");
}

}  // namespace panoramia::image
