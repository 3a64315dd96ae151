#pragma once
// Checks and small helpers shared by the image plugins.

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <panoramia/data.hpp>
#include <panoramia/options.hpp>

namespace panoramia::image {

/// Throws unless `batch` holds images: float `[n,C,H,W]`, and when `need_labels` int64 labels
/// `[n]`. `what` names the batch in the message ("the training set").
void check_image_batch(const Batch& batch, const std::string& what, bool need_labels);

}  // namespace panoramia::image
