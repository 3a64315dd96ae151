// Plugin `loss`: attack features from a side model's signals: the per-example loss, optionally its
// log, the loss vector, the logits, and the raw sample (flattened).
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

namespace {

using panoramia::OptionSpec;
using panoramia::OptionType;

class LossFeaturizer final : public panoramia::Featurizer {
 public:
  torch::Tensor featurize(const panoramia::Batch& samples, const panoramia::SideSignals& side,
                          panoramia::Context& ctx) override {
    const auto& o = ctx.options();
    if (!side.loss.defined()) throw std::invalid_argument("the side model gave no loss");
    const int64_t n = samples.size();
    if (side.loss.size(0) != n)
      throw std::invalid_argument("the side model gave " + std::to_string(side.loss.size(0)) +
                                  " losses for " + std::to_string(n) + " samples");
    std::vector<torch::Tensor> parts{side.loss.reshape({n, 1}).to(torch::kFloat32)};
    if (o.get_bool("log_loss"))
      parts.push_back(torch::log(side.loss.reshape({n, 1}).to(torch::kFloat32).clamp_min(1e-12)));
    if (o.get_bool("loss_vector") && side.loss_vector.defined())
      parts.push_back(side.loss_vector.reshape({n, -1}).to(torch::kFloat32));
    if (o.get_bool("logits") && side.logits.defined())
      parts.push_back(side.logits.reshape({n, -1}).to(torch::kFloat32));
    if (o.get_bool("raw")) parts.push_back(samples.x.reshape({n, -1}).to(torch::kFloat32));
    return torch::cat(parts, 1);
  }
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    using T = OptionType;
    return {
        option("log_loss", T::kBool, "true", "add log(loss) as a feature"),
        option("loss_vector", T::kBool, "true", "add the loss vector when the model gives one"),
        option("logits", T::kBool, "false", "add the side model's logits"),
        option("raw", T::kBool, "false", "add the raw sample, flattened"),
    };
  }
  std::unique_ptr<panoramia::Featurizer> make_featurizer(panoramia::Context&) override {
    return std::make_unique<LossFeaturizer>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "loss", "1.0.0", panoramia::kFeaturizer,
                 "Features from the side model's loss (and optionally logits and the raw sample).")
