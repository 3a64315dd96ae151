#include "preview_checks.hpp"

#include <stdexcept>

namespace panoramia {
namespace {

[[noreturn]] void refuse(const std::string& who, const std::string& what) {
  throw std::runtime_error(who + " returned a preview " + what);
}

}  // namespace

std::string cut_utf8(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  // Step back over continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

void check_preview(Preview& preview, const std::string& who) {
  const int parts = int(!preview.png.empty()) +
                    int(!preview.columns.empty() || !preview.rows.empty()) +
                    int(!preview.texts.empty());
  if (parts > 1) refuse(who, "with more than one of an image, a table and texts");
  static const std::string kSignature = "\x89PNG\r\n\x1a\n";
  if (!preview.png.empty()) {
    if (preview.png.size() > kPreviewPngBytes)
      refuse(who, "image of " + std::to_string(preview.png.size()) + " bytes (at most " +
                      std::to_string(kPreviewPngBytes) + ")");
    if (preview.png.compare(0, kSignature.size(), kSignature) != 0)
      refuse(who, "image that is not a PNG file");
  }
  if (preview.columns.size() > kPreviewColumns)
    refuse(who, "table of " + std::to_string(preview.columns.size()) + " columns (at most " +
                    std::to_string(kPreviewColumns) + ")");
  if (preview.rows.size() > kPreviewSamples || preview.texts.size() > kPreviewSamples)
    refuse(who, "of more than " + std::to_string(kPreviewSamples) + " samples");
  for (std::size_t r = 0; r < preview.rows.size(); ++r) {
    if (preview.rows[r].size() != preview.columns.size())
      refuse(who, "table whose row " + std::to_string(r + 1) + " has " +
                      std::to_string(preview.rows[r].size()) + " cells for " +
                      std::to_string(preview.columns.size()) + " columns");
    for (auto& cell : preview.rows[r]) cell = cut_utf8(cell, kPreviewStringBytes);
  }
  for (auto& column : preview.columns) column = cut_utf8(column, kPreviewStringBytes);
  for (auto& text : preview.texts) text = cut_utf8(text, kPreviewStringBytes);
}

void check_closeness(const Closeness& figure, const std::string& who) {
  if (figure.feature.empty() || figure.measure.empty())
    throw std::runtime_error(who +
                             " returned a closeness figure without a feature or measure name");
}

}  // namespace panoramia
