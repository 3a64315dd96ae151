// Plugin `image-distinguisher`: the image baseline/MIA classifier of PANORAMIA. As a featurizer it
// turns a side model's signals into loss features; as an attack it trains a CNN on the image and an
// MLP on those features jointly and outputs member probabilities.
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "attack.hpp"
#include "image_batch.hpp"
#include "loss_features.hpp"

namespace {

using panoramia::Context;
using panoramia::OptionSpec;
using panoramia::OptionType;
namespace distinguisher = panoramia::distinguisher;

class LossFeaturizer final : public panoramia::Featurizer {
 public:
  torch::Tensor featurize(const panoramia::Batch& samples, const panoramia::SideSignals& side,
                          Context& ctx) override {
    distinguisher::LossFeatureOptions options;
    options.log_loss = ctx.options().get_bool("log_loss");
    options.logit_features = ctx.options().get_bool("logit_features");
    return distinguisher::loss_features(samples, side, options);
  }
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind kind) const override {
    using T = OptionType;
    if (kind == panoramia::kFeaturizer)
      return {panoramia::option("log_loss", T::kBool, "true", "add log(loss)"),
              panoramia::option(
                  "logit_features", T::kBool, "true",
                  "add the label-logit margin, max probability and entropy when the side model "
                  "gives logits")};
    return distinguisher::attack_options();
  }
  std::unique_ptr<panoramia::Featurizer> make_featurizer(Context&) override {
    return std::make_unique<LossFeaturizer>();
  }
  std::unique_ptr<panoramia::Attack> make_attack(Context&) override {
    return std::make_unique<distinguisher::DistinguisherAttack>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "image-distinguisher", "1.0.0",
                 panoramia::kFeaturizer | panoramia::kAttack,
                 "Image baseline/MIA: a CNN on the image and an MLP on the side model's loss "
                 "features, trained jointly.")
