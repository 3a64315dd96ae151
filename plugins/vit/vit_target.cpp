#include "vit_target.hpp"

#include <torch/torch.h>

#include "image_batch.hpp"
#include "pretrained.hpp"

namespace panoramia::vit {

std::vector<OptionSpec> vit_options() {
  using T = OptionType;
  using panoramia::option;
  const std::string p = " (empty: the preset's)";
  std::vector<OptionSpec> specs{
      option("preset", T::kString, "small", "tiny (ViT-Ti/16), small (ViT-S/16) or base (ViT-B/16)",
             {"tiny", "small", "base"}),
      option("patch", T::kInt, "", "patch size" + p),
      option("width", T::kInt, "", "hidden size" + p).at_least(1),
      option("depth", T::kInt, "", "encoder layers" + p),
      option("heads", T::kInt, "", "attention heads" + p),
      option("mlp_ratio", T::kDouble, "", "MLP width / hidden size" + p),
      option("image_size", T::kInt, "",
             "side the images are resized to (empty: 224 with a pretrained state dict, else the "
             "data's side)"),
      option("dropout", T::kDouble, "0", "dropout in the encoder").within_below(0, 1),
      option("pretrained", T::kPath, "",
             "torchvision-layout state dict to start from (torch.save(model.state_dict()))"),
      option("replace_head", T::kBool, "true",
             "drop the state dict's classification head and train a new one for the data's "
             "classes"),
      option("freeze_backbone", T::kBool, "false",
             "train only the head (a linear probe on the pretrained features)")};
  image::ClassifierRecipe recipe;
  recipe.epochs = 35;
  recipe.batch_size = 64;
  recipe.optimizer.name = "adamw";
  recipe.optimizer.lr = 1e-4;
  recipe.optimizer.weight_decay = 0.05;
  recipe.optimizer.schedule = "cosine";
  for (auto& s : image::classifier_target_options(recipe)) specs.push_back(std::move(s));
  // LayerNorm normalises each token of each example on its own, so nothing is replaced under DP;
  // the encoder's layers are not recorded on a dp::LayerTape, so clipping is one example at a time.
  for (auto& s : image::dp_options("loop", "; per-example clipping is dp_clipping = loop"))
    specs.push_back(std::move(s));
  return specs;
}

VitOptions vit_options_from(const OptionValues& o, std::int64_t channels, std::int64_t side,
                            std::int64_t classes, std::int64_t pretrained_channels) {
  VitOptions v = vit_preset(o.get_string("preset"));
  const bool pretrained = o.is_set("pretrained");
  v.image_size = o.is_set("image_size") ? o.get_int("image_size") : pretrained ? 224 : side;
  if (o.is_set("patch")) v.patch = o.get_int("patch");
  if (o.is_set("width")) v.width = o.get_int("width");
  if (o.is_set("depth")) v.depth = o.get_int("depth");
  if (o.is_set("heads")) v.heads = o.get_int("heads");
  if (o.is_set("mlp_ratio")) v.mlp_ratio = o.get_double("mlp_ratio");
  v.dropout = o.get_double("dropout");
  // torchvision's models read RGB; grey images are repeated over the three channels.
  v.in_channels = pretrained ? pretrained_channels : channels;
  v.classes = classes;
  v.validate();
  return v;
}

image::Architecture VitTarget::architecture(const OptionValues& o, std::int64_t channels,
                                            std::int64_t height, std::int64_t,
                                            std::int64_t classes) const {
  std::int64_t pretrained_channels = 3;
  if (o.is_set("pretrained")) {
    const auto& dict = pretrained(o.get_string("pretrained"));
    const auto it = dict.find("conv_proj.weight");
    if (it != dict.end() && it->second.dim() == 4) pretrained_channels = it->second.size(1);
  }
  const auto v = vit_options_from(o, channels, height, classes, pretrained_channels);
  return {{"vit_image_size", std::to_string(v.image_size)},
          {"patch", std::to_string(v.patch)},
          {"hidden", std::to_string(v.width)},
          {"depth", std::to_string(v.depth)},
          {"heads", std::to_string(v.heads)},
          {"mlp_ratio", std::to_string(v.mlp_ratio)},
          {"dropout", std::to_string(v.dropout)},
          {"in_channels", std::to_string(v.in_channels)}};
}

image::ImageClassifier VitTarget::build(const image::Architecture& a) const {
  VitOptions v;
  v.image_size = std::stoll(a.at("vit_image_size"));
  v.patch = std::stoll(a.at("patch"));
  v.width = std::stoll(a.at("hidden"));
  v.depth = std::stoll(a.at("depth"));
  v.heads = std::stoll(a.at("heads"));
  v.mlp_ratio = std::stod(a.at("mlp_ratio"));
  v.dropout = std::stod(a.at("dropout"));
  v.in_channels = std::stoll(a.at("in_channels"));
  v.classes = std::stoll(a.at("classes"));
  return VisionTransformer(v).ptr();
}

const StateDict& VitTarget::pretrained(const std::string& file) const {
  if (pretrained_file_ != file) {
    pretrained_ = read_state_dict(file);
    pretrained_file_ = file;
  }
  return pretrained_;
}

void VitTarget::prepare(image::ImageClassifierImpl& net, Context& ctx) {
  const auto& o = ctx.options();
  auto& vit = dynamic_cast<VisionTransformerImpl&>(net);
  if (o.is_set("pretrained")) {
    const std::string file = o.get_string("pretrained");
    const auto report = load_state_dict(vit, pretrained(file), o.get_bool("replace_head"), file);
    pretrained_ = StateDict();  // the copy in the network is all that is needed now
    pretrained_file_.clear();
    ctx.logger()->info("vit: loaded {} tensors from {}{}{}", report.tensors, file,
                       report.head_replaced ? ", new head" : "",
                       report.positions_resized ? ", position embeddings resized" : "");
  }
  if (o.get_bool("freeze_backbone"))
    for (auto& p : vit.backbone_parameters()) p.set_requires_grad(false);
}

}  // namespace panoramia::vit
