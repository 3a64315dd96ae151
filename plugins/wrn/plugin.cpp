// Plugin `wrn`: Wide ResNet target/helper models, trained by default with the reference's CIFAR-10
// recipe (docs/method.md §3.6): WRN-28-10, dropout 0.3, flips and 4-pixel-padded crops, AdamW lr
// 0.01 and weight decay 5e-4, learning rate x0.2 at epochs 60/120/160, batch 32, 150 epochs.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "wrn_target.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::wrn::wrn_options();
  }
  std::unique_ptr<panoramia::TargetAdapter> make_target(panoramia::Context&) override {
    return std::make_unique<panoramia::wrn::WrnTarget>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "wrn", "1.1.0", panoramia::kTarget,
                 "Wide ResNet image classifier (WRN-depth-width) as target or helper model.")
