// Plugin `reference-ratio` (Carlini et al., USENIX Security 2021, the "reference model" score for
// language models): the side model's loss over the reference models' mean loss.
#include "score_attack.hpp"
#include "scores.hpp"

namespace {

class ReferenceRatio final : public panoramia::attacks::ScoreAttack {
 public:
  ReferenceRatio() : ScoreAttack("reference-ratio") {}
  static std::vector<panoramia::OptionSpec> options() { return {}; }

 private:
  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context&) override {
    return panoramia::attacks::reference_ratio(side_loss(data), reference_losses(data));
  }
};

using Factory = panoramia::attacks::ScoreAttackFactory<ReferenceRatio>;

}  // namespace

PANORAMIA_PLUGIN(Factory, "reference-ratio", "1.0.0", panoramia::kAttack,
                 "Reference ratio (Carlini et al. 2021): the side model's loss over the reference "
                 "models' mean loss; needs [helper] count >= 2.")
