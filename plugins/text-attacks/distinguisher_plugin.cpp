// Plugin `text-distinguisher`: the reference's text attack, a GPT-2 backbone on the tokens joined
// with the side model's per-token losses, trained in two phases. See README.md.
#include <panoramia/plugin.hpp>

#include "distinguisher.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::text_attacks::TextDistinguisherAttack::option_specs();
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<panoramia::text_attacks::TextDistinguisherAttack>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(
    Factory, "text-distinguisher", "1.0.0", panoramia::kAttack,
    "The reference text attack: a GPT-2 backbone on the tokens and ReLU(Linear) on the "
    "side model's per-token losses, one linear output, two-phase training.")
