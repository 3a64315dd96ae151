#pragma once
// Per-channel input normalisation. Every model that reads images applies its own (the reference
// mixes them up, docs/method.md §6.6), chosen by the options `normalization`, `mean` and `std`.

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <panoramia/options.hpp>

namespace panoramia::image {

struct Normalization {
  std::string name = "none";
  std::vector<double> mean;  // one per channel (empty for none)
  std::vector<double> std;

  /// (x - mean) / std per channel of `x` [n,C,H,W]; returns `x` itself for none.
  at::Tensor apply(const at::Tensor& x) const;

  void save(torch::serialize::OutputArchive& archive, const std::string& prefix) const;
  static Normalization load(torch::serialize::InputArchive& archive, const std::string& prefix);
};

/// The options `normalization` (auto|cifar10|fashion-mnist|mnist|imagenet|half|none|custom), `mean`
/// and `std` with `default_preset` as the default of the first.
std::vector<OptionSpec> normalization_options(const std::string& default_preset = "auto");

/// The normalisation the options select for images with `channels` channels. `auto` is cifar10 for
/// 3 channels and fashion-mnist for 1; a 1-channel preset is repeated over 3 channels. Throws
/// naming the option when the values do not fit the channel count.
Normalization normalization_from_options(const OptionValues& options, std::int64_t channels);

}  // namespace panoramia::image
