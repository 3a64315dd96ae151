#include "cifar_file.hpp"

#include <fstream>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::cifar {

std::vector<std::string> cifar10_split_files(const std::string& split) {
  std::vector<std::string> train;
  for (int i = 1; i <= 5; ++i) train.push_back("data_batch_" + std::to_string(i) + ".bin");
  if (split == "train") return train;
  if (split == "test") return {"test_batch.bin"};
  if (split == "all") {
    train.push_back("test_batch.bin");
    return train;
  }
  throw std::invalid_argument("unknown CIFAR-10 split '" + split + "' (train, test, all)");
}

CifarData read_cifar10(const std::vector<std::filesystem::path>& files, std::int64_t limit) {
  if (files.empty()) throw std::invalid_argument("no CIFAR-10 files to read");
  std::vector<at::Tensor> images, labels;
  std::int64_t total = 0;
  for (const auto& file : files) {
    if (limit > 0 && total >= limit) break;
    if (!std::filesystem::is_regular_file(file))
      throw std::runtime_error("CIFAR-10 file " + file.string() + " does not exist");
    const auto size = std::int64_t(std::filesystem::file_size(file));
    if (size == 0) throw std::runtime_error("CIFAR-10 file " + file.string() + " is empty");
    if (size % kRecord != 0)
      throw std::runtime_error("CIFAR-10 file " + file.string() + " is truncated: its " +
                               std::to_string(size) + " bytes are not whole 3073-byte records, " +
                               "the record at byte offset " +
                               std::to_string(size / kRecord * kRecord) + " is cut short");
    auto bytes = torch::empty({size / kRecord, kRecord}, torch::kUInt8);
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data_ptr<std::uint8_t>()), size);
    if (in.gcount() != size)
      throw std::runtime_error("CIFAR-10 file " + file.string() +
                               " could only be read up to byte offset " +
                               std::to_string(in.gcount()));
    auto label = bytes.select(1, 0).to(torch::kInt64);
    const auto bad = (label >= kClasses).nonzero();
    if (bad.size(0) > 0) {
      const auto record = bad[0][0].item<std::int64_t>();
      throw std::runtime_error("CIFAR-10 file " + file.string() + " has label " +
                               std::to_string(label[record].item<std::int64_t>()) +
                               " at byte offset " + std::to_string(record * kRecord) +
                               ", outside 0-9");
    }
    std::int64_t keep = bytes.size(0);
    if (limit > 0) keep = std::min(keep, limit - total);
    labels.push_back(label.slice(0, 0, keep));
    images.push_back(
        bytes.slice(0, 0, keep).narrow(1, 1, kPixels).reshape({keep, 3, kSide, kSide}));
    total += keep;
  }
  CifarData out;
  out.images = torch::cat(images).to(torch::kFloat32).div_(255.0);
  out.labels = torch::cat(labels);
  return out;
}

void write_cifar10(const std::filesystem::path& file, const at::Tensor& labels,
                   const at::Tensor& images) {
  const std::int64_t n = labels.size(0);
  auto records = torch::cat({labels.to(torch::kUInt8).reshape({n, 1}),
                             images.to(torch::kUInt8).reshape({n, kPixels})},
                            1)
                     .contiguous();
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(records.data_ptr<std::uint8_t>()), records.numel());
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace panoramia::cifar
