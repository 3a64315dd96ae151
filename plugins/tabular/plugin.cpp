// Plugin `tabular`: attack features for tables, as the PANORAMIA reference builds them: the record
// (label included) plus the side model's per-example loss (and its log).
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "features.hpp"

namespace {

using panoramia::OptionSpec;
using panoramia::OptionType;
namespace tabular = panoramia::tabular;

class TabularFeaturizer final : public panoramia::Featurizer {
 public:
  torch::Tensor featurize(const panoramia::Batch& samples, const panoramia::SideSignals& side,
                          panoramia::Context& ctx) override {
    const auto& o = ctx.options();
    tabular::FeatureOptions f;
    f.encoding = o.get_string("encoding") == "onehot" ? tabular::Encoding::kOneHot
                                                      : tabular::Encoding::kCodes;
    f.label = o.get_bool("label");
    f.loss = o.get_bool("loss");
    f.log_loss = o.get_bool("log_loss");
    auto features = tabular::tabular_features(samples, side, f);
    if (!logged_ && samples.schema) {
      const auto names = tabular::feature_names(*samples.schema, f);
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      ctx.logger()->debug("tabular features ({}): {}", names.size(), list);
      logged_ = true;
    }
    return features;
  }

 private:
  bool logged_ = false;
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    using T = OptionType;
    return {
        option("encoding", T::kString, "codes",
               "categorical columns as their codes (for trees) or one-hot", {"codes", "onehot"}),
        option("label", T::kBool, "true", "keep the label column among the features"),
        option("loss", T::kBool, "true", "add the side model's loss"),
        option("log_loss", T::kBool, "true", "add log(loss)")};
  }
  std::unique_ptr<panoramia::Featurizer> make_featurizer(panoramia::Context&) override {
    return std::make_unique<TabularFeaturizer>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "tabular", "1.0.0", panoramia::kFeaturizer,
                 "Tabular attack features: the record (raw or one-hot) plus the side model's loss.")
