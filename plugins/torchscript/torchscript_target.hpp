#pragma once
// The `torchscript` target: audits any image classifier exported with torch.jit.save, applying the
// preprocessing declared in the config (scale, resize, channel repeat, normalisation). The model
// is frozen: it is loaded (`[target] load = model.pt`), never trained.

#include <filesystem>
#include <vector>

#include <torch/script.h>
#include <panoramia/interfaces.hpp>

#include "normalization.hpp"

namespace panoramia::torchscript {

std::vector<OptionSpec> torchscript_options();

/// The preprocessing the options declare, applied to images [n,C,H,W] in [0,1].
struct Preprocessing {
  double scale = 1.0;           // multiply first (255 for models reading 8-bit values)
  std::int64_t image_size = 0;  // bilinear resize to this side (0: none)
  std::int64_t channels = 0;    // repeat grey images to this many channels (0: as they are)
  image::Normalization normalization;
  at::Tensor apply(const at::Tensor& x) const;
};
Preprocessing preprocessing_from(const OptionValues& options, std::int64_t data_channels);

class TorchScriptTarget final : public TargetAdapter {
 public:
  bool can_fit() const override { return false; }
  void fit(const Batch& train, const Batch& validation, Context& ctx) override;
  SideSignals side_signals(const Batch& samples, const std::string& variant, Context& ctx) override;
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  /// `path` is a TorchScript file, or a directory holding model.pt (what save writes).
  void load(const std::filesystem::path& path, Context& ctx) override;

 private:
  std::filesystem::path file_;
  torch::jit::Module module_;
  bool loaded_ = false;
};

}  // namespace panoramia::torchscript
