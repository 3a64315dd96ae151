// Plugin `min-k-prob` (Shi et al., ICLR 2024): the mean of a text block's lowest k% token
// log-probabilities under the side model; needs its per-token losses (a text target).
#include "score_attack.hpp"
#include "scores.hpp"

namespace {

using panoramia::OptionType;

class MinKProb final : public panoramia::attacks::ScoreAttack {
 public:
  MinKProb() : ScoreAttack("min-k-prob") {}
  static std::vector<panoramia::OptionSpec> options() {
    auto k = panoramia::option("k", OptionType::kDouble, "0.2",
                               "fraction of each block's tokens with the lowest probabilities");
    k.range = panoramia::OptionRange{0, 1, /*low_open=*/true, /*high_open=*/false};
    return {k};
  }

 private:
  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context& ctx) override {
    return panoramia::attacks::min_k_prob(data.side.loss_vector, ctx.options().get_double("k"));
  }
};

using Factory = panoramia::attacks::ScoreAttackFactory<MinKProb>;

}  // namespace

PANORAMIA_PLUGIN(Factory, "min-k-prob", "1.0.0", panoramia::kAttack,
                 "Min-k% prob (Shi et al. 2024): mean of the lowest k% token log-probabilities; "
                 "needs per-token losses (text targets).")
