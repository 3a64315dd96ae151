#pragma once
// A batch of images as one PNG grid (libpng): the image readers' report preview and the files
// written for inspection. The project's one PNG writer.

#include <filesystem>

#include <string>

#include <ATen/core/Tensor.h>
#include <panoramia/interfaces.hpp>

namespace panoramia::image {

/// The bytes of a PNG file showing `images` (float [n,C,H,W] in [0,1], C = 1 or 3) as a grid of
/// `columns` columns with a one-pixel black border, 8-bit grey or RGB.
std::string encode_png_grid(const at::Tensor& images, std::int64_t columns);

/// Writes `encode_png_grid(images, columns)` to `file`. Throws naming the file on failure.
void write_png_grid(const std::filesystem::path& file, const at::Tensor& images,
                    std::int64_t columns);

/// The first `kPreviewSamples` images of `samples` ([n,C,H,W]) in one row: an image reader's
/// `DatasetReader::preview`. Samples that are not images show nothing.
Preview image_preview(const Batch& samples);

/// A dataset reader of images, whose report preview is `image_preview` (the idx and cifar10
/// readers).
class ImageReader : public DatasetReader {
 public:
  Preview preview(const Batch& samples, Context&) const override { return image_preview(samples); }
};

/// Reads a PNG written by `write_png_grid` (8-bit grey or RGB) as float [C,H,W] in [0,1].
at::Tensor read_png(const std::filesystem::path& file);

}  // namespace panoramia::image
