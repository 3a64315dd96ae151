// Plugin `vit`: Vision Transformer target/helper models (presets tiny, small, base), trained from
// scratch or fine-tuned from a torchvision state dict.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "vit_target.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::vit::vit_options();
  }
  std::unique_ptr<panoramia::TargetAdapter> make_target(panoramia::Context&) override {
    return std::make_unique<panoramia::vit::VitTarget>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "vit", "1.0.0", panoramia::kTarget,
                 "Vision Transformer image classifier (from scratch or a torchvision state dict).")
