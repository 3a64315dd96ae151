#pragma once
// Writes a batch of images as one PNG grid (libpng), for reports and inspection.

#include <filesystem>

#include <ATen/core/Tensor.h>

namespace panoramia::image {

/// Writes `images` (float [n,C,H,W] in [0,1], C = 1 or 3) as a grid of `columns` columns with a
/// one-pixel black border, 8-bit grey or RGB. Throws naming the file on failure.
void write_png_grid(const std::filesystem::path& file, const at::Tensor& images,
                    std::int64_t columns);

/// Reads a PNG written by `write_png_grid` (8-bit grey or RGB) as float [C,H,W] in [0,1].
at::Tensor read_png(const std::filesystem::path& file);

}  // namespace panoramia::image
