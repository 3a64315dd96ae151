#include "idx_file.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>
#include <zlib.h>

namespace panoramia::idx {
namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr std::size_t kChunk = 1 << 20;

std::string hex(std::uint32_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << std::uppercase;
  out.width(8);
  out.fill('0');
  out << value;
  return out.str();
}

std::uint32_t big_endian(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
  return (std::uint32_t(bytes[offset]) << 24) | (std::uint32_t(bytes[offset + 1]) << 16) |
         (std::uint32_t(bytes[offset + 2]) << 8) | std::uint32_t(bytes[offset + 3]);
}

std::string kind_of(std::int64_t dims) {
  return dims == 3 ? "an IDX image file" : dims == 1 ? "an IDX label file" : "an IDX file";
}

// The data bytes the header declares (the product of its sizes), checked before anything is
// allocated: every size in [1, 2^30] and the product at most kMaxDataBytes (no overflow).
constexpr std::uint64_t kMaxDataBytes = std::uint64_t{1} << 36;  // 64 GiB

std::uint64_t declared_bytes(const std::vector<std::uint8_t>& bytes, std::int64_t dims,
                             const std::string& file, std::vector<std::int64_t>& sizes) {
  std::uint64_t count = 1;
  for (std::int64_t d = 0; d < dims; ++d) {
    const std::uint32_t size = big_endian(bytes, 4 + 4 * d);
    if (size == 0 || size > (1u << 30))
      throw std::runtime_error("IDX file " + file + " declares dimension " + std::to_string(d) +
                               " of size " + std::to_string(size) + " at byte offset " +
                               std::to_string(4 + 4 * d) + ", which is not a plausible size");
    if (count > kMaxDataBytes / size)
      throw std::runtime_error("IDX file " + file + " declares dimensions whose product exceeds " +
                               std::to_string(kMaxDataBytes) + " bytes (dimension " +
                               std::to_string(d) + " of size " + std::to_string(size) +
                               " at byte offset " + std::to_string(4 + 4 * d) + ")");
    sizes.push_back(size);
    count *= size;
  }
  return count;
}

}  // namespace

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file, std::uint64_t max_bytes) {
  if (!std::filesystem::is_regular_file(file))
    throw std::runtime_error("IDX file " + file.string() + " does not exist");
  gzFile in = gzopen(file.c_str(), "rb");
  if (in == nullptr) throw std::runtime_error("cannot open IDX file " + file.string());
  std::vector<std::uint8_t> bytes;
  // Up to max_bytes + 1, so that a caller knows there was more; a small gzip file that inflates
  // to gigabytes is never inflated past what its header declares.
  const std::uint64_t cap = max_bytes == UINT64_MAX ? UINT64_MAX : max_bytes + 1;
  std::vector<std::uint8_t> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, cap)));
  while (bytes.size() < cap) {
    const auto want =
        static_cast<unsigned>(std::min<std::uint64_t>(chunk.size(), cap - bytes.size()));
    const int got = gzread(in, chunk.data(), want);
    if (got < 0) {
      int code = 0;
      const std::string why = gzerror(in, &code);
      gzclose(in);
      throw std::runtime_error("IDX file " + file.string() + " has corrupt gzip data after byte " +
                               std::to_string(bytes.size()) + " of its content (" + why + ")");
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  }
  if (bytes.size() >= cap) {  // stopped early: the rest is not read, so no truncation check
    gzclose(in);
    return bytes;
  }
  // zlib reports a gzip stream cut short (even one missing only its trailer) as Z_BUF_ERROR.
  int code = 0;
  gzerror(in, &code);
  gzclose(in);
  if (code == Z_BUF_ERROR)
    throw std::runtime_error("IDX file " + file.string() +
                             " is truncated: its gzip stream ends after byte offset " +
                             std::to_string(bytes.size()) + " of the decompressed content");
  return bytes;
}

void parse_idx_header(const std::vector<std::uint8_t>& bytes, std::int64_t expected_dims,
                      const std::string& file) {
  if (bytes.size() < 4)
    throw std::runtime_error("IDX file " + file + " is truncated: it ends at byte offset " +
                             std::to_string(bytes.size()) + " inside the 4-byte magic number");
  const std::uint32_t magic = big_endian(bytes, 0);
  const std::uint32_t expected_magic = (std::uint32_t(kUnsignedByte) << 8) | expected_dims;
  if (magic != expected_magic)
    throw std::runtime_error("IDX file " + file + " has magic number " + hex(magic) +
                             " at byte offset 0, expected " + hex(expected_magic) + " for " +
                             kind_of(expected_dims) + " of unsigned bytes");
  const std::size_t header = 4 + 4 * std::size_t(expected_dims);
  if (bytes.size() < header)
    throw std::runtime_error("IDX file " + file + " is truncated: it ends at byte offset " +
                             std::to_string(bytes.size()) + " inside the " +
                             std::to_string(header) + "-byte header");
}

IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, std::int64_t expected_dims,
                   const std::string& file) {
  parse_idx_header(bytes, expected_dims, file);
  const std::size_t header = 4 + 4 * std::size_t(expected_dims);
  IdxArray array;
  const std::uint64_t count = declared_bytes(bytes, expected_dims, file, array.dims);
  const std::uint64_t end = header + count;
  if (bytes.size() < end)
    throw std::runtime_error(
        "IDX file " + file + " is truncated: its header declares " + std::to_string(count) +
        " data bytes from byte offset " + std::to_string(header) + " to " + std::to_string(end) +
        " but the content ends at byte offset " + std::to_string(bytes.size()));
  if (bytes.size() > end)
    throw std::runtime_error("IDX file " + file + " has " + std::to_string(bytes.size() - end) +
                             " unexpected bytes after the data, from byte offset " +
                             std::to_string(end));
  array.data.assign(bytes.begin() + header, bytes.end());
  return array;
}

IdxArray read_idx(const std::filesystem::path& file, std::int64_t expected_dims) {
  const std::uint64_t header = 4 + 4 * static_cast<std::uint64_t>(expected_dims);
  const std::string name = file.string();
  std::vector<std::uint8_t> bytes = read_bytes(file, header);
  if (bytes.size() > header) {
    // The header is complete: check it, then inflate no more than it declares (plus one byte to
    // tell trailing content from none).
    bytes.resize(header);
    parse_idx_header(bytes, expected_dims, name);
    std::vector<std::int64_t> sizes;
    const std::uint64_t end = header + declared_bytes(bytes, expected_dims, name, sizes);
    bytes = read_bytes(file, end);
    if (bytes.size() > end)
      throw std::runtime_error("IDX file " + name +
                               " has more content after the data, from byte "
                               "offset " +
                               std::to_string(end) + " (its header declares " +
                               std::to_string(end - header) + " data bytes)");
  }
  return parse_idx(bytes, expected_dims, name);
}

IdxData read_images_and_labels(const std::filesystem::path& images,
                               const std::filesystem::path& labels, std::int64_t classes,
                               std::int64_t limit) {
  const auto image_array = read_idx(images, 3);
  const auto label_array = read_idx(labels, 1);
  const std::int64_t n = image_array.dims[0];
  if (label_array.dims[0] != n)
    throw std::runtime_error("IDX label file " + labels.string() + " has " +
                             std::to_string(label_array.dims[0]) + " labels but image file " +
                             images.string() + " has " + std::to_string(n) + " images");
  for (std::int64_t i = 0; i < n; ++i)
    if (label_array.data[i] >= classes)
      throw std::runtime_error("IDX label file " + labels.string() + " has label " +
                               std::to_string(label_array.data[i]) + " at byte offset " +
                               std::to_string(8 + i) + ", outside the " + std::to_string(classes) +
                               " classes");
  const std::int64_t keep = limit > 0 ? std::min(limit, n) : n;
  const std::int64_t rows = image_array.dims[1];
  const std::int64_t cols = image_array.dims[2];
  IdxData out;
  auto pixels = torch::from_blob(const_cast<std::uint8_t*>(image_array.data.data()),
                                 {keep, 1, rows, cols}, torch::kUInt8);
  out.images = pixels.to(torch::kFloat32).div_(255.0);
  auto label_bytes =
      torch::from_blob(const_cast<std::uint8_t*>(label_array.data.data()), {keep}, torch::kUInt8);
  out.labels = label_bytes.to(torch::kInt64);
  return out;
}

void write_idx(const std::filesystem::path& file, const std::vector<std::int64_t>& dims,
               const std::vector<std::uint8_t>& data, bool gzip) {
  std::vector<std::uint8_t> bytes{0, 0, kUnsignedByte, static_cast<std::uint8_t>(dims.size())};
  for (const auto d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(std::uint8_t(d >> shift));
  bytes.insert(bytes.end(), data.begin(), data.end());
  if (!gzip) {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
    return;
  }
  gzFile out = gzopen(file.c_str(), "wb");
  if (out == nullptr || gzwrite(out, bytes.data(), unsigned(bytes.size())) != int(bytes.size())) {
    if (out != nullptr) gzclose(out);
    throw std::runtime_error("cannot write " + file.string());
  }
  gzclose(out);
}

}  // namespace panoramia::idx
