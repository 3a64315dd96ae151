// Plugin `idx`: reads MNIST / Fashion-MNIST IDX files (gzipped or not) as an image batch.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "idx_file.hpp"
#include "png_grid.hpp"

namespace {

using panoramia::Context;
using panoramia::OptionSpec;
using panoramia::OptionType;
namespace fs = std::filesystem;

/// `name` resolved against `directory`; a missing file falls back to its gzipped or plain twin.
fs::path locate(const std::string& directory, const std::string& name, const std::string& option) {
  fs::path path = name;
  if (path.is_relative() && !directory.empty()) path = fs::path(directory) / path;
  if (fs::exists(path)) return path;
  const fs::path twin = path.extension() == ".gz" ? fs::path(path).replace_extension()
                                                  : fs::path(path.string() + ".gz");
  if (fs::exists(twin)) return twin;
  throw std::runtime_error("IDX file " + path.string() + " (option " + option +
                           ") does not exist, nor does " + twin.string());
}

class IdxReader final : public panoramia::image::ImageReader {
 public:
  panoramia::Batch read(Context& ctx) override {
    const auto& o = ctx.options();
    const std::string directory = o.get_string("directory");
    const auto images = locate(directory, o.get_string("images"), "images");
    const auto labels = locate(directory, o.get_string("labels"), "labels");
    const std::int64_t classes = o.get_int("classes");
    if (classes < 1 || classes > 256)
      throw std::invalid_argument("option classes = " + std::to_string(classes) +
                                  " must be between 1 and 256");
    auto data = panoramia::idx::read_images_and_labels(images, labels, classes, o.get_int("limit"));
    ctx.logger()->info("idx: {} images of {}x{} from {}", data.images.size(0), data.images.size(2),
                       data.images.size(3), images.string());
    return panoramia::Batch{data.images, data.labels, "image", nullptr};
  }
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    using T = OptionType;
    return {option("directory", T::kPath, "/usr/share/datasets/fashion-mnist",
                   "directory that relative image and label paths are resolved against"),
            option("images", T::kPath, "train-images-idx3-ubyte.gz",
                   "IDX image file (gzipped or not; a missing .gz falls back to the plain file)"),
            option("labels", T::kPath, "train-labels-idx1-ubyte.gz", "IDX label file"),
            option("limit", T::kInt, "0", "keep only the first N images (0: all)"),
            option("classes", T::kInt, "10", "number of classes; every label must be below it")};
  }
  std::unique_ptr<panoramia::DatasetReader> make_dataset_reader(Context&) override {
    return std::make_unique<IdxReader>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "idx", "1.0.0", panoramia::kDatasetReader,
                 "MNIST / Fashion-MNIST IDX image and label files (gzipped or not).")
