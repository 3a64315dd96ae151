#include "normalization.hpp"

#include <map>
#include <stdexcept>

#include <torch/torch.h>

#include "image_batch.hpp"

namespace panoramia::image {
namespace {

struct Preset {
  std::vector<double> mean, std;
};

// Channel statistics: CIFAR-10 as in the reference's WRN recipe (docs/method.md §3.6), the 60k
// Fashion-MNIST and MNIST training sets, and ImageNet as torchvision uses them.
const std::map<std::string, Preset>& presets() {
  static const std::map<std::string, Preset> table{
      {"cifar10", {{0.4914, 0.4822, 0.4465}, {0.2023, 0.1994, 0.2010}}},
      {"fashion-mnist", {{0.2860}, {0.3530}}},
      {"mnist", {{0.1307}, {0.3081}}},
      {"imagenet", {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}},
      {"half", {{0.5}, {0.5}}},
  };
  return table;
}

std::vector<double> fit_channels(std::vector<double> values, std::int64_t channels,
                                 const std::string& what) {
  if (values.size() == 1 && channels > 1) values.assign(channels, values[0]);
  if (std::int64_t(values.size()) != channels)
    throw std::invalid_argument(what + " has " + std::to_string(values.size()) +
                                " values but the images have " + std::to_string(channels) +
                                " channels");
  return values;
}

}  // namespace

at::Tensor Normalization::apply(const at::Tensor& x) const {
  if (mean.empty()) return x;
  const auto options = torch::TensorOptions().dtype(x.scalar_type()).device(x.device());
  const auto m = torch::tensor(mean, torch::kFloat64).to(options).view({1, -1, 1, 1});
  const auto s = torch::tensor(std, torch::kFloat64).to(options).view({1, -1, 1, 1});
  if (x.size(1) != m.size(1))
    throw std::invalid_argument("normalization '" + name + "' has " + std::to_string(m.size(1)) +
                                " channels but the images have " + std::to_string(x.size(1)));
  return (x - m) / s;
}

void Normalization::save(torch::serialize::OutputArchive& archive,
                         const std::string& prefix) const {
  archive.write(prefix + "name", c10::IValue(name));
  archive.write(prefix + "mean",
                torch::tensor(mean.empty() ? std::vector<double>{} : mean, torch::kFloat64));
  archive.write(prefix + "std",
                torch::tensor(std.empty() ? std::vector<double>{} : std, torch::kFloat64));
}

Normalization Normalization::load(torch::serialize::InputArchive& archive,
                                  const std::string& prefix) {
  Normalization n;
  c10::IValue name;
  archive.read(prefix + "name", name);
  n.name = name.toStringRef();
  torch::Tensor mean, std;
  archive.read(prefix + "mean", mean);
  archive.read(prefix + "std", std);
  n.mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  n.std.assign(std.data_ptr<double>(), std.data_ptr<double>() + std.numel());
  return n;
}

std::vector<OptionSpec> normalization_options(const std::string& default_preset) {
  using T = OptionType;
  return {
      option("normalization", T::kString, default_preset,
             "input normalisation of this model: auto (cifar10 for 3 channels, fashion-mnist "
             "for 1), a data set's channel statistics, half (mean=std=0.5), none, or custom "
             "(the mean and std options)",
             {"auto", "cifar10", "fashion-mnist", "mnist", "imagenet", "half", "none", "custom"}),
      option("mean", T::kDoubleList, "", "per-channel means for normalization = custom"),
      option("std", T::kDoubleList, "", "per-channel standard deviations for custom")};
}

Normalization normalization_from_options(const OptionValues& options, std::int64_t channels) {
  Normalization n;
  n.name = options.get_string("normalization");
  if (n.name == "auto") n.name = channels == 3 ? "cifar10" : "fashion-mnist";
  if (n.name == "none") return n;
  if (n.name == "custom") {
    n.mean = fit_channels(options.get_double_list("mean"), channels, "option mean");
    n.std = fit_channels(options.get_double_list("std"), channels, "option std");
  } else {
    const auto& preset = presets().at(n.name);
    n.mean = fit_channels(preset.mean, channels, "normalization " + n.name);
    n.std = fit_channels(preset.std, channels, "normalization " + n.name);
  }
  for (const double s : n.std)
    if (!(s > 0)) throw std::invalid_argument("option std must hold positive values");
  return n;
}

}  // namespace panoramia::image
