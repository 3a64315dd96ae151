// Plugin `rmia`, offline (Zarifzadeh et al., ICML 2024): the likelihood ratio of x under the side
// model against its offline marginal from the reference models, compared with the same ratio on
// population samples z: the generated (non-member) samples of the attack-training set.
#include <torch/torch.h>

#include "score_attack.hpp"
#include "scores.hpp"

namespace {

using panoramia::OptionType;

class Rmia final : public panoramia::attacks::ScoreAttack {
 public:
  Rmia() : ScoreAttack("rmia") {}
  static std::vector<panoramia::OptionSpec> options() {
    return {panoramia::option("gamma", OptionType::kDouble, "1",
                              "a population sample z counts when the ratio r(x)/r(z) exceeds gamma")
                .above(0),
            panoramia::option("offline_a", OptionType::kDouble, "0.3",
                              "offline correction a: Pr(x) = ((1+a) mean OUT p(x) + 1 - a) / 2")
                .within_below(0, 1),
            panoramia::option("population", OptionType::kInt, "0",
                              "population samples z (generated samples of the attack-training "
                              "set; 0: all of them)")
                .at_least(0)};
  }

 private:
  void prepare(const panoramia::AttackData& train, const at::Tensor& is_member,
               panoramia::Context& ctx) override {
    const auto side = side_loss(train);
    const auto refs = reference_losses(train);
    auto rows = torch::nonzero(is_member.reshape({-1}) < 0.5).reshape({-1});
    if (rows.size(0) == 0)
      throw std::invalid_argument(
          "rmia: the attack-training set has no generated sample to use "
          "as the population");
    const std::int64_t limit = ctx.options().get_int("population");
    if (limit > 0 && limit < rows.size(0)) {
      // A random subset, drawn from the attack's own seeded generator.
      rows = rows.index(
          {torch::randperm(rows.size(0), ctx.generator(), torch::kInt64).slice(0, 0, limit)});
    }
    population_side_ = side.index({rows});
    population_references_ = refs.index({torch::indexing::Slice(), rows});
    ctx.logger()->info("rmia: {} population samples, gamma {}, offline a {}", rows.size(0),
                       ctx.options().get_double("gamma"), ctx.options().get_double("offline_a"));
  }

  at::Tensor raw_score(const panoramia::AttackData& data, panoramia::Context& ctx) override {
    return panoramia::attacks::rmia_offline(
        side_loss(data), reference_losses(data), population_side_, population_references_,
        ctx.options().get_double("offline_a"), ctx.options().get_double("gamma"));
  }

  at::Tensor population_side_, population_references_;
};

using Factory = panoramia::attacks::ScoreAttackFactory<Rmia>;

}  // namespace

PANORAMIA_PLUGIN(Factory, "rmia", "1.0.0", panoramia::kAttack,
                 "RMIA offline (Zarifzadeh et al. 2024): likelihood ratio against population "
                 "samples with the reference models' offline marginal; needs [helper] count >= 2.")
