#include "wrn_target.hpp"

#include <torch/torch.h>

#include "image_batch.hpp"
#include "wide_resnet.hpp"

namespace panoramia::wrn {

std::vector<OptionSpec> wrn_options() {
  using T = OptionType;
  std::vector<OptionSpec> specs{
      image::option("depth", T::kInt, "28", "network depth 6n+4 (28 for WRN-28-10)"),
      image::option("width", T::kInt, "10", "widening factor k"),
      image::option("dropout", T::kDouble, "0.3", "dropout between the convolutions of a block")};
  // ClassifierRecipe's defaults are the reference's: AdamW 0.01, wd 5e-4, x0.2 at 60/120/160,
  // batch 32, 150 epochs, flips and 4-pixel crops.
  for (auto& s : image::classifier_target_options(image::ClassifierRecipe{}))
    specs.push_back(std::move(s));
  return specs;
}

image::Architecture WrnTarget::architecture(const OptionValues& o, std::int64_t channels,
                                            std::int64_t, std::int64_t, std::int64_t) const {
  return {{"depth", std::to_string(o.get_int("depth"))},
          {"widen", std::to_string(o.get_int("width"))},
          {"dropout", o.get_string("dropout")},
          {"in_channels", std::to_string(channels)}};
}

image::ImageClassifier WrnTarget::build(const image::Architecture& a) const {
  WideResNetOptions w;
  w.depth = std::stoll(a.at("depth"));
  w.width = std::stoll(a.at("widen"));
  w.dropout = std::stod(a.at("dropout"));
  w.in_channels = std::stoll(a.at("in_channels"));
  w.classes = std::stoll(a.at("classes"));
  return WideResNet(w).ptr();
}

}  // namespace panoramia::wrn
