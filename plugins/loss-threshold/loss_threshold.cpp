// Plugin `loss-threshold`: the classic loss attack, usable with any modality. It scores a sample by
// a monotone decreasing function of the side model's loss: a one-dimensional logistic regression on
// log(loss) fitted by Newton's method, so that scores are calibrated probabilities in [0, 1] and
// any threshold on them is a threshold on the loss.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "calibration.hpp"

namespace {

using panoramia::OptionSpec;
using panoramia::OptionType;

class LossThreshold final : public panoramia::Attack {
 public:
  void fit(const panoramia::AttackData& train, const torch::Tensor& is_member,
           panoramia::Context& ctx) override {
    // The calibration refuses losses and labels that are not aligned.
    calibration_.fit(feature(train), is_member, ctx.options().get_double("l2"));
    ctx.logger()->info("loss-threshold: score = sigmoid({:.4f} - {:.4f} * standardised log loss)",
                       calibration_.intercept(), calibration_.slope());
  }

  torch::Tensor score(const panoramia::AttackData& data, panoramia::Context&) override {
    return calibration_(feature(data));
  }

 private:
  // Minus the log loss: a loss attack says "member" for a low loss, so the calibration (whose
  // slope is never negative) keeps the score decreasing in the loss even if the fit says
  // otherwise (then the attack has no signal and the bound will show it).
  static torch::Tensor feature(const panoramia::AttackData& d) {
    if (!d.side.loss.defined()) throw std::invalid_argument("the side model gave no loss");
    return -torch::log(d.side.loss.reshape({-1}).to(torch::kFloat64).clamp_min(1e-30));
  }
  panoramia::attacks::MonotoneCalibration calibration_;
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    return {panoramia::option("l2", OptionType::kDouble, "0.0001", "ridge penalty on the slope")
                .at_least(0)};
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<LossThreshold>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "loss-threshold", "1.0.0", panoramia::kAttack,
                 "Loss-threshold attack: a monotone score of the side model's loss.")
