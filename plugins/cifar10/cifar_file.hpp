#pragma once
// Reading the CIFAR-10 binary version: files of 3073-byte records, one label byte (0-9) then the
// 32x32 red, green and blue planes in row-major order (data_batch_1..5.bin, test_batch.bin).

#include <cstdint>
#include <filesystem>
#include <vector>

#include <ATen/core/Tensor.h>

namespace panoramia::cifar {

constexpr std::int64_t kSide = 32;
constexpr std::int64_t kPixels = 3 * kSide * kSide;
constexpr std::int64_t kRecord = 1 + kPixels;
constexpr std::int64_t kClasses = 10;

struct CifarData {
  at::Tensor images;  // float32 [n,3,32,32] in [0,1]
  at::Tensor labels;  // int64 [n]
};

/// Reads the records of `files` in order, keeping the first `limit` (all when limit <= 0). A
/// missing file, a size that is not a whole number of records, or a label outside 0-9 is one
/// error naming the file and the byte offset.
CifarData read_cifar10(const std::vector<std::filesystem::path>& files, std::int64_t limit);

/// The file names of a split of the standard layout: train (data_batch_1..5.bin), test
/// (test_batch.bin) or all (both, train first).
std::vector<std::string> cifar10_split_files(const std::string& split);

/// Writes records (labels [n] uint8-valued, images uint8 [n,3,32,32]) as a CIFAR-10 binary file;
/// used by tests and tools.
void write_cifar10(const std::filesystem::path& file, const at::Tensor& labels,
                   const at::Tensor& images);

}  // namespace panoramia::cifar
