#pragma once
// A minimal PNG encoder (8-bit grey or RGB, zlib from the system) for sample grids in reports.

#include <cstdint>
#include <string>
#include <vector>

namespace panoramia::report {

/// Encodes `pixels` (row-major, `channels` = 1 or 3 bytes per pixel) as a PNG file's bytes.
std::string encode_png(const std::vector<std::uint8_t>& pixels, int width, int height,
                       int channels);

std::string base64(const std::string& bytes);

}  // namespace panoramia::report
