#pragma once
// The `wrn` target adapter: a Wide ResNet trained with the classifier recipe options.

#include <vector>

#include "dp_classifier_target.hpp"

namespace panoramia::wrn {

/// Options of the `wrn` target: depth, width, dropout, normalisation layers, the classifier recipe
/// (defaults: the reference's CIFAR-10 recipe, docs/method.md §3.6) and DP-SGD (dp_classifier.hpp).
std::vector<OptionSpec> wrn_options();

class WrnTarget final : public image::DpClassifierTarget {
 protected:
  std::string model_name() const override { return "wrn"; }
  image::Architecture architecture(const OptionValues& options, std::int64_t channels,
                                   std::int64_t height, std::int64_t width,
                                   std::int64_t classes) const override;
  image::ImageClassifier build(const image::Architecture& architecture) const override;
  /// The WRN records its stem, convolutions, GroupNorms and head for vectorised clipping.
  image::TapedForward taped_forward(image::ImageClassifierImpl& net) const override;
};

}  // namespace panoramia::wrn
