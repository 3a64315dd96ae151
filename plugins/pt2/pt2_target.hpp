#pragma once
// The `pt2` target: audits an image classifier exported with torch.export and compiled into a
// package by AOTInductor (torch._inductor.aoti_compile_and_package, a .pt2 file), the path PyTorch
// recommends for C++ deployment. Same options and preprocessing as the `torchscript` target; the
// package must have been compiled for the device the audit runs on.

#include <filesystem>
#include <memory>

#include "torchscript_target.hpp"

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace panoramia::pt2 {

class Pt2Target final : public torchscript::FrozenImageTarget {
 public:
  Pt2Target();
  ~Pt2Target() override;

 private:
  const char* plugin_name() const override { return "pt2"; }
  const char* model_kind() const override { return "AOTInductor package"; }
  const char* file_name() const override { return "model.pt2"; }
  void open(const std::filesystem::path& file, Context& ctx) override;
  at::Tensor forward(const at::Tensor& batch) override;

  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
};

}  // namespace panoramia::pt2
