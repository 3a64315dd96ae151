// Plugin `calibrated-loss` (Watson et al., ICLR 2022): the side model's loss minus the reference
// models' mean loss, so that a sample that is hard for every model is not mistaken for a
// non-member.
#include "score_attack.hpp"
#include "scores.hpp"

namespace {

class CalibratedLoss final : public panoramia::attacks::ScoreAttack {
 public:
  CalibratedLoss() : ScoreAttack("calibrated-loss") {}
  static std::vector<panoramia::OptionSpec> options() { return {}; }

 private:
  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context&) override {
    return panoramia::attacks::calibrated_loss(side_loss(data), reference_losses(data));
  }
};

using Factory = panoramia::attacks::ScoreAttackFactory<CalibratedLoss>;

}  // namespace

PANORAMIA_PLUGIN(Factory, "calibrated-loss", "1.0.0", panoramia::kAttack,
                 "Calibrated loss (Watson et al. 2022): the side model's loss minus the reference "
                 "models' mean loss; needs [helper] count >= 2.")
