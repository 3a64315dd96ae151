#pragma once
// What the host accepts from a reader's `preview` and `closeness` (plugin-api preview.hpp): the
// limits are checked (and long strings cut) before anything is stored with the run.

#include <string>

#include <panoramia/preview.hpp>

namespace panoramia {

constexpr std::size_t kPreviewPngBytes = 4u << 20;
constexpr std::size_t kPreviewColumns = 64;
constexpr std::size_t kPreviewStringBytes = 600;

/// Throws naming `who` when `preview` sets more than one part, holds more than the limits (or a
/// PNG without the PNG signature, a row with another count of cells than columns); cuts every
/// string to `kPreviewStringBytes` bytes (at a UTF-8 character boundary).
void check_preview(Preview& preview, const std::string& who);

/// Throws naming `who` when `figure` has an empty feature or measure name.
void check_closeness(const Closeness& figure, const std::string& who);

/// `text` cut to at most `bytes` bytes without splitting a UTF-8 sequence.
std::string cut_utf8(const std::string& text, std::size_t bytes);

}  // namespace panoramia
