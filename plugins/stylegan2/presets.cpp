#include "presets.hpp"

#include <stdexcept>

#include "image_batch.hpp"

namespace panoramia::stylegan2 {

Preset preset(const std::string& name) {
  Preset p;
  if (name == "cifar") return p;  // the defaults of NetworkOptions and TrainingOptions
  if (name != "tiny") throw std::invalid_argument("unknown StyleGAN2 preset '" + name + "'");
  p.network.z_dim = 64;
  p.network.w_dim = 64;
  p.network.mapping_layers = 2;
  p.network.d_mapping_layers = 2;
  p.network.channel_base = 512;  // 7-8 px: 64, 14-16 px: 32, 28-32 px: 16 feature maps
  p.network.channel_max = 64;
  p.network.mbstd_group = 4;
  p.network.resnet_discriminator = true;
  p.training.batch_size = 32;
  p.training.lr = 0.0025;
  p.training.r1_gamma = 0.01;
  p.training.ema_kimg = 10;
  p.training.kimg = 50;
  p.training.ada_kimg = 20;  // short runs: let p adapt within tens of kimg
  return p;
}

std::vector<OptionSpec> stylegan2_options() {
  using T = OptionType;
  using panoramia::option;
  const std::string p = " (empty: the preset's)";
  return {
      option("preset", T::kString, "tiny",
             "cifar: the reference's StyleGAN2-ADA --cfg=cifar settings; tiny: CPU minutes",
             {"tiny", "cifar"}),
      option("layout", T::kString, "native",
             "network resolution: native (the data's side, e.g. 28 from a 7x7 constant) or pad "
             "(padded to the next power of two, e.g. 32, and cropped back)",
             {"native", "pad"}),
      option("kimg", T::kDouble, "", "training length in thousands of real images" + p).above(0),
      option("batch_size", T::kInt, "", "minibatch size" + p).at_least(1),
      option("lr", T::kDouble, "", "Adam learning rate of G and D" + p).above(0),
      option("betas", T::kDoubleList, "", "Adam betas" + p),
      option("r1_gamma", T::kDouble, "", "R1 regularisation weight" + p),
      option("r1_interval", T::kInt, "", "minibatches between lazy R1 steps" + p),
      option("ema_kimg", T::kDouble, "", "half-life of the generator EMA in kimg" + p),
      option("ema_rampup", T::kDouble, "", "EMA ramp-up ratio (0: none)" + p),
      option("z_dim", T::kInt, "", "latent size" + p),
      option("w_dim", T::kInt, "", "intermediate latent size" + p),
      option("mapping_layers", T::kInt, "", "layers of G's mapping network" + p),
      option("d_mapping_layers", T::kInt, "", "layers of D's label mapping" + p),
      option("channel_base", T::kInt, "", "feature maps at resolution r: channel_base / r" + p),
      option("channel_max", T::kInt, "", "upper bound on feature maps" + p),
      option("mbstd_group", T::kInt, "", "minibatch standard deviation group size" + p),
      option("d_architecture", T::kString, "", "discriminator: resnet or orig" + p,
             {"", "resnet", "orig"}),
      option("mirror", T::kBool, "false", "x-flip augmentation of the real images"),
      option("ada", T::kString, "", "adaptive discriminator augmentation: true or false" + p,
             {"", "true", "false"}),
      option("ada_target", T::kDouble, "", "ADA target for E[sign(D(real))]" + p),
      option("ada_kimg", T::kDouble, "", "ADA speed: kimg for p to move by 1" + p),
      option("snapshot_kimg", T::kDouble, "0",
             "write a resumable snapshot to the work directory this often (0: at the end only)"),
      option("resume", T::kBool, "true",
             "continue from the work directory's snapshot when it has the same settings"),
      option("truncation_psi", T::kDouble, "1", "truncation of sampled latents (1: none)"),
      option("noise_mode", T::kString, "const",
             "noise when sampling: const (the reference's), random or none",
             {"const", "random", "none"}),
      option("quantize", T::kBool, "true",
             "round samples to 8-bit pixel values like the reference's PNG files"),
      option("grid_per_class", T::kInt, "10",
             "samples per class in the PNG grid written after training (0: none)")
          .at_least(0),
  };
}

Preset configure(const OptionValues& o, std::int64_t channels, std::int64_t side,
                 std::int64_t classes) {
  Preset p = preset(o.get_string("preset"));
  auto& n = p.network;
  auto& t = p.training;
  n.channels = channels;
  n.classes = classes;
  n.resolution = side;
  if (o.get_string("layout") == "pad") {
    n.resolution = 4;
    while (n.resolution < side) n.resolution *= 2;
  }
  auto set_int = [&](const char* name, std::int64_t& field) {
    if (o.is_set(name)) field = o.get_int(name);
  };
  auto set_double = [&](const char* name, double& field) {
    if (o.is_set(name)) field = o.get_double(name);
  };
  set_double("kimg", t.kimg);
  set_int("batch_size", t.batch_size);
  set_double("lr", t.lr);
  if (o.is_set("betas")) {
    const auto betas = o.get_double_list("betas");
    if (betas.size() != 2) throw std::invalid_argument("option betas needs two numbers");
    t.beta1 = betas[0];
    t.beta2 = betas[1];
  }
  set_double("r1_gamma", t.r1_gamma);
  set_int("r1_interval", t.r1_interval);
  set_double("ema_kimg", t.ema_kimg);
  set_double("ema_rampup", t.ema_rampup);
  set_int("z_dim", n.z_dim);
  set_int("w_dim", n.w_dim);
  set_int("mapping_layers", n.mapping_layers);
  set_int("d_mapping_layers", n.d_mapping_layers);
  set_int("channel_base", n.channel_base);
  set_int("channel_max", n.channel_max);
  set_int("mbstd_group", n.mbstd_group);
  if (o.is_set("d_architecture"))
    n.resnet_discriminator = o.get_string("d_architecture") == "resnet";
  t.mirror = o.get_bool("mirror");
  if (o.is_set("ada")) t.ada = o.get_string("ada") == "true";
  set_double("ada_target", t.ada_target);
  set_double("ada_kimg", t.ada_kimg);
  t.snapshot_kimg = o.get_double("snapshot_kimg");
  if (t.batch_size < 1 || t.r1_interval < 1 || !(t.kimg > 0) || !(t.lr > 0))
    throw std::invalid_argument("StyleGAN2 batch_size, r1_interval, kimg and lr must be positive");
  n.validate();
  return p;
}

}  // namespace panoramia::stylegan2
