#include "pt2_target.hpp"

#include <string>
#include <vector>

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/torch.h>

namespace panoramia::pt2 {

Pt2Target::Pt2Target() = default;
Pt2Target::~Pt2Target() = default;

void Pt2Target::open(const std::filesystem::path& file, Context& ctx) {
  const std::string what = "AOTInductor package " + file.string();
  try {
    loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(file.string());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load " + what + ": " + torchscript::first_line(e.what()));
  }
  // A package runs on the device it was compiled for: say so before the first batch does.
  const auto metadata = loader_->get_metadata();
  const auto device = metadata.find("AOTI_DEVICE_KEY");
  const std::string wanted = ctx.device().is_cuda() ? "cuda" : "cpu";
  if (device != metadata.end() && device->second != wanted)
    throw std::runtime_error(what + " was compiled for device '" + device->second +
                             "' but this audit runs on '" + wanted +
                             "'; compile the package for that device or set [audit] device");
}

at::Tensor Pt2Target::forward(const at::Tensor& batch) {
  std::vector<at::Tensor> outputs;
  try {
    outputs = loader_->run({batch});
  } catch (const std::exception& e) {
    throw std::runtime_error("AOTInductor package " + file().string() + " failed on a batch of " +
                             c10::str(batch.sizes()) + ": " + torchscript::first_line(e.what()));
  }
  if (outputs.size() != 1)
    throw std::runtime_error("AOTInductor package " + file().string() + " returned " +
                             std::to_string(outputs.size()) +
                             " outputs; expected one [n, classes]");
  return outputs.front();
}

}  // namespace panoramia::pt2
