// Plugin `mlp`: a fully connected classifier as a target/helper model, and a small MLP attack on
// featurizer output (see target.hpp).
#include <panoramia/plugin.hpp>

#include "target.hpp"

namespace {

namespace mlp = panoramia::mlp;

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind kind) const override {
    return kind == panoramia::kTarget ? mlp::target_options() : mlp::attack_options();
  }
  std::unique_ptr<panoramia::TargetAdapter> make_target(panoramia::Context&) override {
    return std::make_unique<mlp::MlpTarget>();
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<mlp::MlpAttack>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "mlp", "1.0.0", panoramia::kTarget | panoramia::kAttack,
                 "Fully connected classifier as target/helper model, and a small MLP attack.")
