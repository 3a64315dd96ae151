// Plugin `pt2`: audits any image classifier exported with torch.export and packaged by
// AOTInductor (.pt2), with the preprocessing declared in the config (the torchscript target's
// options). Built on the LibTorch 2.x line only.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "pt2_target.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::torchscript::torchscript_options();
  }
  std::unique_ptr<panoramia::TargetAdapter> make_target(panoramia::Context&) override {
    return std::make_unique<panoramia::pt2::Pt2Target>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "pt2", "1.0.0", panoramia::kTarget,
                 "Any image classifier exported by torch.export + AOTInductor ([target] load = "
                 "model.pt2; LibTorch 2.6 or later).")
