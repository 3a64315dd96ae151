// Plugin `loss-vector`: an MLP attack over the featurizer's output (for text: the side model's
// per-token losses), cheap enough for CPU audits. See README.md.
#include <panoramia/plugin.hpp>

#include "loss_vector_attack.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::text_attacks::LossVectorAttack::option_specs();
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<panoramia::text_attacks::LossVectorAttack>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "loss-vector", "1.0.0", panoramia::kAttack,
                 "MLP attack over a side model's loss vector (e.g. the 63 per-token losses of a "
                 "GPT-2 block).")
