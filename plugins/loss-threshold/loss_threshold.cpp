// Plugin `loss-threshold`: the classic loss attack, usable with any modality. It scores a sample by
// a monotone decreasing function of the side model's loss: a one-dimensional logistic regression on
// log(loss) fitted by Newton's method, so that scores are calibrated probabilities in [0, 1] and
// any threshold on them is a threshold on the loss.
#include <cmath>

#include <torch/torch.h>

#include <panoramia/plugin.hpp>

namespace {

using panoramia::OptionSpec;
using panoramia::OptionType;

constexpr int kNewtonSteps = 100;

class LossThreshold final : public panoramia::Attack {
 public:
  void fit(const panoramia::AttackData& train, const torch::Tensor& is_member,
           panoramia::Context& ctx) override {
    const auto x = feature(train).to(torch::kFloat64);
    const auto y = is_member.to(torch::kFloat64);
    if (x.size(0) != y.size(0)) throw std::invalid_argument("losses and labels are not aligned");
    mean_ = x.mean().item<double>();
    scale_ = std::max(1e-12, x.std().item<double>());
    const auto z = (x - mean_) / scale_;
    const double l2 = ctx.options().get_double("l2");
    double a = 0, b = 0;  // score = sigmoid(a + b z)
    for (int step = 0; step < kNewtonSteps; ++step) {
      const auto p = torch::sigmoid(a + b * z);
      const auto w = p * (1 - p);
      const double ga = (p - y).sum().item<double>();
      const double gb = ((p - y) * z).sum().item<double>() + l2 * b;
      const double haa = w.sum().item<double>() + 1e-12;
      const double hab = (w * z).sum().item<double>();
      const double hbb = (w * z * z).sum().item<double>() + l2 + 1e-12;
      const double det = haa * hbb - hab * hab;
      if (std::abs(det) < 1e-18) break;
      const double da = (hbb * ga - hab * gb) / det;
      const double db = (haa * gb - hab * ga) / det;
      a -= da;
      b -= db;
      if (std::abs(da) + std::abs(db) < 1e-12) break;
    }
    // A loss attack says "member" for low loss: keep the score decreasing in the loss even if the
    // fit says otherwise (then the attack has no signal and the bound will show it).
    a_ = a;
    b_ = std::min(b, 0.0);
    ctx.logger()->info("loss-threshold: score = sigmoid({:.4f} + {:.4f} * standardised log loss)",
                       a_, b_);
  }

  torch::Tensor score(const panoramia::AttackData& data, panoramia::Context&) override {
    const auto z = (feature(data).to(torch::kFloat64) - mean_) / scale_;
    return torch::sigmoid(a_ + b_ * z).to(torch::kFloat32);
  }

 private:
  static torch::Tensor feature(const panoramia::AttackData& d) {
    if (!d.side.loss.defined()) throw std::invalid_argument("the side model gave no loss");
    return torch::log(d.side.loss.reshape({-1}).to(torch::kFloat64).clamp_min(1e-30));
  }
  double mean_ = 0, scale_ = 1, a_ = 0, b_ = 0;
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
