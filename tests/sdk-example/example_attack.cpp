// An example third-party plugin: an attack that scores a sample by 1 / (1 + loss / scale), where
// `scale` is the median loss of the attack-training members.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

namespace {

class InverseLoss final : public panoramia::Attack {
 public:
  void fit(const panoramia::AttackData& train, const torch::Tensor& is_member,
           panoramia::Context& ctx) override {
    const auto member_losses = train.side.loss.index({is_member > 0.5});
    scale_ = member_losses.numel() > 0 ? member_losses.median().item<double>() : 1.0;
    scale_ = std::max(scale_, ctx.options().get_double("min_scale"));
    ctx.logger()->info("example-attack: scale {:.4f}", scale_);
  }
  torch::Tensor score(const panoramia::AttackData& data, panoramia::Context&) override {
    return 1.0 / (1.0 + data.side.loss.to(torch::kFloat64) / scale_);
  }

 private:
  double scale_ = 1.0;
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return {panoramia::option("min_scale", panoramia::OptionType::kDouble, "1e-6",
                              "smallest loss scale")
                .above(0)};
  }
  std::unique_ptr<panoramia::Attack> make_attack(panoramia::Context&) override {
    return std::make_unique<InverseLoss>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "example-attack", "0.1.0", panoramia::kAttack,
                 "Example out-of-tree attack: 1 / (1 + loss / median member loss).")
