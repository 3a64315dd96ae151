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

/// The decompressed bytes of a file (zlib reads plain files as they are), at most `max_bytes` + 1
/// of them: inflation stops there, so the caller learns that there is more without inflating it.
/// Throws naming the file when it cannot be opened or its gzip stream is corrupt or cut short.
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file,
                                     std::uint64_t max_bytes = UINT64_MAX);

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

/// The magic number and header of `bytes` (at least the header) checked: throws naming the file.
void parse_idx_header(const std::vector<std::uint8_t>& bytes, std::int64_t expected_dims,
                      const std::string& file);

/// Reads and parses an IDX file, checking its header before reading the data: the sizes and their
/// product (overflow, at most 64 GiB) are checked first, and no more than the declared data is
/// inflated, so a 40-byte file claiming 2^31 images or a small gzip bomb is one sentence, not an
/// out-of-memory kill.
IdxArray read_idx(const std::filesystem::path& file, std::int64_t expected_dims);

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
