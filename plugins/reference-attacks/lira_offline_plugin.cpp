// Plugin `lira-offline` (Carlini et al., IEEE S&P 2022): a Gaussian fitted to the reference models'
// logit-scaled confidence on each sample; the score is how far above it the side model's value is.
#include "score_attack.hpp"
#include "scores.hpp"

namespace {

using panoramia::OptionType;

// Carlini et al. use a global variance below 64 reference models.
constexpr std::int64_t kPerExampleFrom = 64;

class LiraOffline final : public panoramia::attacks::ScoreAttack {
 public:
  LiraOffline() : ScoreAttack("lira-offline") {}
  static std::vector<panoramia::OptionSpec> options() {
    return {panoramia::option("variance", OptionType::kString, "auto",
                              "the Gaussian's variance: per-example (each sample's references), "
                              "global (every reference value), auto (global below 64 references)",
                              {"auto", "global", "per-example"})};
  }

 private:
  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context& ctx) override {
    using panoramia::attacks::LiraVariance;
    const auto refs = reference_losses(data);
    const std::string mode = ctx.options().get_string("variance");
    const LiraVariance variance =
        mode == "per-example" || (mode == "auto" && refs.size(0) >= kPerExampleFrom)
            ? LiraVariance::kPerExample
            : LiraVariance::kGlobal;
    return panoramia::attacks::lira_offline(side_loss(data), refs, variance);
  }
};

using Factory = panoramia::attacks::ScoreAttackFactory<LiraOffline>;

}  // namespace

PANORAMIA_PLUGIN(Factory, "lira-offline", "1.0.0", panoramia::kAttack,
                 "LiRA offline (Carlini et al. 2022): one-sided Gaussian likelihood of the side "
                 "model's logit confidence under the reference models'; needs [helper] count >= 2.")
