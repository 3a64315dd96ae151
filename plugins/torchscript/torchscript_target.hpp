#pragma once
// The `torchscript` target: audits any image classifier exported with torch.jit.save, applying the
// preprocessing declared in the config (scale, resize, channel repeat, normalisation). The model
// is frozen: it is loaded (`[target] load = model.pt`), never trained. FrozenImageTarget is the
// part it shares with the `pt2` target (AOTInductor packages, on the LibTorch 2.x line).

#include <filesystem>
#include <string>
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

/// A frozen image classifier read from one file (never trained): the preprocessing, the batching
/// and the losses are shared; a subclass opens its file format and runs one batch.
class FrozenImageTarget : public TargetAdapter {
 public:
  bool can_fit() const override { return false; }
  void fit(const Batch& train, const Batch& validation, Context& ctx) override;
  SideSignals side_signals(const Batch& samples, const std::string& variant, Context& ctx) override;
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  /// `path` is the model file, or a directory holding it under file_name() (what save writes).
  void load(const std::filesystem::path& path, Context& ctx) override;

 protected:
  /// The plugin's name, what its files are called in a sentence ("TorchScript model") and the
  /// name save() gives the copy.
  virtual const char* plugin_name() const = 0;
  virtual const char* model_kind() const = 0;
  virtual const char* file_name() const = 0;
  /// Reads `file` (it exists); throws with a sentence naming it when it cannot.
  virtual void open(const std::filesystem::path& file, Context& ctx) = 0;
  /// The model's output for one preprocessed batch on ctx.device().
  virtual at::Tensor forward(const at::Tensor& batch) = 0;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  bool loaded_ = false;
};

/// The first line of a LibTorch message (they go on with code and a caret), at most 300 characters:
/// what the errors of the frozen targets quote.
std::string first_line(const std::string& message);

/// Why torch::jit::load refused `file`, in one sentence: an operator this LibTorch lacks (a model
/// saved by a newer PyTorch) is named with both versions; anything else keeps LibTorch's words.
std::string describe_load_failure(const std::filesystem::path& file, const std::string& what);

class TorchScriptTarget final : public FrozenImageTarget {
 private:
  const char* plugin_name() const override { return "torchscript"; }
  const char* model_kind() const override { return "TorchScript model"; }
  const char* file_name() const override { return "model.pt"; }
  void open(const std::filesystem::path& file, Context& ctx) override;
  at::Tensor forward(const at::Tensor& batch) override;

  torch::jit::Module module_;
};

}  // namespace panoramia::torchscript
