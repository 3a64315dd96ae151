#pragma once
/// What a dataset reader gives the report about samples of its kind (`DatasetReader::preview` and
/// `DatasetReader::closeness`), in plain types: the host stores them with the run and renders them
/// without knowing the modality.

#include <cstddef>
#include <string>
#include <vector>

namespace panoramia {

/// The most samples the host passes to `DatasetReader::preview`.
constexpr std::size_t kPreviewSamples = 8;

/// A few samples shown as one of: an image (a grid of the samples), a table, or texts. The host
/// escapes every string; it stores at most 4 MiB of PNG, 64 columns, `kPreviewSamples` rows and
/// texts, each string cut at 600 bytes, and refuses a preview with more than one part set.
struct Preview {
  /// The bytes of a PNG file (8-bit grey or RGB), or empty.
  std::string png;
  /// A table: the column names and, for each sample, one string per column.
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  /// One text per sample.
  std::vector<std::string> texts;

  bool empty() const { return png.empty() && columns.empty() && rows.empty() && texts.empty(); }
};

/// One measure of how close generated samples are to held-out real ones: `distance` (0: the same
/// distribution) of `measure` (a short lowercase name, e.g. "ks" or "tv") on `feature` (e.g. a
/// column name).
struct Closeness {
  std::string feature;
  std::string measure;
  double distance = 0;
};

}  // namespace panoramia
