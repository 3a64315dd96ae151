#include "wrn_target.hpp"

#include <torch/torch.h>

#include "image_batch.hpp"
#include "wide_resnet.hpp"

namespace panoramia::wrn {

std::vector<OptionSpec> wrn_options() {
  using T = OptionType;
  std::vector<OptionSpec> specs{
      panoramia::option("depth", T::kInt, "28", "network depth 6n+4 (28 for WRN-28-10)"),
      panoramia::option("width", T::kInt, "10", "widening factor k").at_least(1),
      panoramia::option("dropout", T::kDouble, "0.3", "dropout between the convolutions of a block")
          .within_below(0, 1),
      panoramia::option("norm", T::kString, "auto",
                        "normalisation layers: batch (BatchNorm), group (GroupNorm, as Opacus "
                        "replaces BatchNorm under DP) or auto (group when dp = true, else batch)",
                        {"auto", "batch", "group"}),
      panoramia::option("norm_groups", T::kInt, "32",
                        "GroupNorm groups: min(norm_groups, channels) per layer")
          .at_least(1)};
  // ClassifierRecipe's defaults are the reference's: AdamW 0.01, wd 5e-4, x0.2 at 60/120/160,
  // batch 32, 150 epochs, flips and 4-pixel crops.
  for (auto& s : image::classifier_target_options(image::ClassifierRecipe{}))
    specs.push_back(std::move(s));
  for (auto& s : image::dp_options("vectorized", "; needs GroupNorm (norm = auto or group)"))
    specs.push_back(std::move(s));
  return specs;
}

image::Architecture WrnTarget::architecture(const OptionValues& o, std::int64_t channels,
                                            std::int64_t, std::int64_t, std::int64_t) const {
  std::string norm = o.get_string("norm");
  const bool dp = o.get_bool("dp");
  if (norm == "auto") norm = dp ? "group" : "batch";
  if (dp && norm == "batch")
    throw std::invalid_argument(
        "option norm = batch cannot be trained with DP-SGD (batch statistics mix examples); set "
        "norm = group or auto");
  if (o.get_int("norm_groups") < 1) throw std::invalid_argument("option norm_groups must be >= 1");
  return {{"depth", std::to_string(o.get_int("depth"))},
          {"widen", std::to_string(o.get_int("width"))},
          {"dropout", o.get_string("dropout")},
          {"in_channels", std::to_string(channels)},
          {"norm", norm},
          {"norm_groups", std::to_string(o.get_int("norm_groups"))}};
}

image::ImageClassifier WrnTarget::build(const image::Architecture& a) const {
  WideResNetOptions w;
  w.depth = std::stoll(a.at("depth"));
  w.width = std::stoll(a.at("widen"));
  w.dropout = std::stod(a.at("dropout"));
  w.in_channels = std::stoll(a.at("in_channels"));
  w.classes = std::stoll(a.at("classes"));
  // Checkpoints written before the norm option hold BatchNorm.
  w.norm = a.count("norm") ? a.at("norm") : "batch";
  if (a.count("norm_groups")) w.groups = std::stoll(a.at("norm_groups"));
  return WideResNet(w).ptr();
}

image::TapedForward WrnTarget::taped_forward(image::ImageClassifierImpl& net) const {
  auto* wrn = dynamic_cast<WideResNetImpl*>(&net);
  if (wrn == nullptr) throw std::logic_error("the wrn target holds another network");
  return [wrn](const torch::Tensor& x, dp::LayerTape& tape) { return wrn->forward(x, &tape); };
}

}  // namespace panoramia::wrn
