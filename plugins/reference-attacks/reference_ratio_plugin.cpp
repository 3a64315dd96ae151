// Plugin `reference-ratio` (Carlini et al., USENIX Security 2021, the "reference model" score for
// language models): the side model's loss over the reference models' mean loss.
#include "score_attack.hpp"
#include "scores.hpp"

namespace {

class ReferenceRatio final : public panoramia::attacks::ScoreAttack {
 public:
  ReferenceRatio() : ScoreAttack("reference-ratio") {}

 private:
  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context&) override {
    return panoramia::attacks::reference_ratio(side_loss(data), reference_losses(data));
  }
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return {panoramia::attacks::calibration_option()};
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<ReferenceRatio>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "reference-ratio", "1.0.0", panoramia::kAttack,
                 "Reference ratio (Carlini et al. 2021): the side model's loss over the reference "
                 "models' mean loss; needs [helper] count >= 2.")
