#include "score_attack.hpp"

#include <stdexcept>

#include <torch/torch.h>

#include "scores.hpp"

namespace panoramia::attacks {

OptionSpec calibration_option() {
  return option("l2", OptionType::kDouble, "0.0001",
                "ridge penalty on the slope of the monotone map from raw score to probability")
      .at_least(0);
}

void ScoreAttack::prepare(const AttackData&, const at::Tensor&, Context&) {}

void ScoreAttack::fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) {
  if (train.samples.x.defined() && is_member.numel() != train.samples.size())
    throw std::invalid_argument(name_ +
                                ": the samples and their membership labels are not aligned");
  prepare(train, is_member, ctx);
  const auto raw = raw_score(train, ctx);
  if (raw.size(0) != is_member.numel())
    throw std::invalid_argument(name_ +
                                ": the side model's signals and the membership labels "
                                "are not aligned");
  calibration_.fit(raw, is_member, ctx.options().get_double("l2"));
  ctx.logger()->info("{}: probability = sigmoid({:.4f} + {:.4f} * standardised raw score)", name_,
                     calibration_.intercept(), calibration_.slope());
  if (calibration_.slope() == 0)
    ctx.logger()->warn(
        "{}: on the attack-training set a higher raw score does not mean more members; every "
        "score is the same (no signal)",
        name_);
}

at::Tensor ScoreAttack::score(const AttackData& data, Context& ctx) {
  return calibration_(raw_score(data, ctx));
}

at::Tensor ScoreAttack::side_loss(const AttackData& data) {
  if (!data.side.loss.defined()) throw std::invalid_argument("the side model gave no loss");
  const auto loss = data.side.loss.reshape({-1}).to(torch::kFloat64);
  if (!torch::isfinite(loss).all().item<bool>())
    throw std::invalid_argument("the side model gave a non-finite loss");
  return loss;
}

at::Tensor ScoreAttack::reference_losses(const AttackData& data) const {
  std::vector<at::Tensor> losses;
  for (const auto& r : data.references) losses.push_back(r.loss);
  return stack_reference_losses(losses, side_loss(data).size(0), name_.c_str());
}

}  // namespace panoramia::attacks
