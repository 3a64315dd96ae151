// Plugin `torchscript`: audits any image classifier exported with torch.jit.save, with the
// preprocessing declared in the config.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "torchscript_target.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::torchscript::torchscript_options();
  }
  std::unique_ptr<panoramia::TargetAdapter> make_target(panoramia::Context&) override {
    return std::make_unique<panoramia::torchscript::TorchScriptTarget>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "torchscript", "1.0.0", panoramia::kTarget,
                 "Any image classifier saved with torch.jit.save ([target] load = model.pt).")
