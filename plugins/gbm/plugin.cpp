// Plugin `gbm`: a gradient-boosted-trees attack through XGBoost's C API (see attack.hpp).
#include <panoramia/plugin.hpp>

#include "attack.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::gbm::gbm_options();
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<panoramia::gbm::GbmAttack>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "gbm", "1.1.0", panoramia::kAttack,
                 "Gradient-boosted trees (XGBoost) tuned by a TPE or random search with k-fold "
                 "cross-validation.")
