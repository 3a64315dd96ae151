// Plugin `cifar10`: reads the CIFAR-10 binary version as an image batch.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "cifar_file.hpp"
#include "image_batch.hpp"
#include "png_grid.hpp"

namespace {

using panoramia::Context;
using panoramia::OptionSpec;
using panoramia::OptionType;
namespace fs = std::filesystem;

class CifarReader final : public panoramia::image::ImageReader {
 public:
  panoramia::Batch read(Context& ctx) override {
    const auto& o = ctx.options();
    const fs::path directory = o.get_string("directory");
    std::vector<fs::path> files;
    const auto listed = o.get_string_list("files");
    for (const auto& name :
         listed.empty() ? panoramia::cifar::cifar10_split_files(o.get_string("split")) : listed) {
      const fs::path path = name;
      files.push_back(path.is_relative() ? directory / path : path);
    }
    auto data = panoramia::cifar::read_cifar10(files, o.get_int("limit"));
    ctx.logger()->info("cifar10: {} images from {} file(s) in {}", data.images.size(0),
                       files.size(), directory.string());
    return panoramia::Batch{data.images, data.labels, "image", nullptr};
  }
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    using T = OptionType;
    using panoramia::option;
    return {option("directory", T::kPath, "cifar-10-batches-bin",
                   "directory of the binary version's files"),
            option("split", T::kString, "train",
                   "train (data_batch_1..5.bin), test (test_batch.bin) or all",
                   {"train", "test", "all"}),
            option("files", T::kString, "",
                   "comma-separated file names read instead of the split's (relative to "
                   "directory)"),
            option("limit", T::kInt, "0", "keep only the first N images (0: all)")};
  }
  std::unique_ptr<panoramia::DatasetReader> make_dataset_reader(Context&) override {
    return std::make_unique<CifarReader>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "cifar10", "1.0.0", panoramia::kDatasetReader,
                 "CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin).")
