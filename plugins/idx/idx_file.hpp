#pragma once
// Reading IDX files (the MNIST / Fashion-MNIST format), gzipped or not.
//
// An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
// big-endian 32-bit size per dimension, then the data in row-major order. Only unsigned bytes (type
// 0x08) occur in MNIST-like data sets and only they are accepted.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace panoramia::idx {

/// The decompressed bytes of a file (zlib reads plain files as they are).
/// Throws naming the file when it cannot be opened or its gzip stream is corrupt.
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file);

/// A parsed IDX array of unsigned bytes.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;  // row-major, product(dims) bytes
};

/// Parses `bytes` (the content of `file`, which is only used in messages) as an IDX array of
/// unsigned bytes with `expected_dims` dimensions. A wrong magic number, a truncated file or bytes
/// after the data are one error naming the file and the byte offset.
IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, std::int64_t expected_dims,
                   const std::string& file);

/// What `read_images_and_labels` returns: images float32 [n,1,rows,cols] in [0,1], labels int64
/// [n].
struct IdxData {
  at::Tensor images;
  at::Tensor labels;
};

/// Reads an image file (3 dimensions) and a label file (1 dimension) with the same number of items,
/// checks every label is in [0, classes), and keeps the first `limit` items (all when limit <= 0).
IdxData read_images_and_labels(const std::filesystem::path& images,
                               const std::filesystem::path& labels, std::int64_t classes,
                               std::int64_t limit);

/// Writes an IDX file of unsigned bytes (uncompressed, or gzipped when `gzip`); used by tests and
/// tools that make small data sets.
void write_idx(const std::filesystem::path& file, const std::vector<std::int64_t>& dims,
               const std::vector<std::uint8_t>& data, bool gzip);

}  // namespace panoramia::idx
