#pragma once
// The `wrn` target adapter: a Wide ResNet trained with the classifier recipe options.

#include <vector>

#include "classifier_target.hpp"

namespace panoramia::wrn {

/// Options of the `wrn` target: depth, width, dropout and the classifier recipe, whose defaults are
/// the reference's CIFAR-10 recipe (method §3.6).
std::vector<OptionSpec> wrn_options();

class WrnTarget final : public image::ClassifierTarget {
 protected:
  std::string model_name() const override { return "wrn"; }
  image::Architecture architecture(const OptionValues& options, std::int64_t channels,
                                   std::int64_t height, std::int64_t width,
                                   std::int64_t classes) const override;
  image::ImageClassifier build(const image::Architecture& architecture) const override;
};

}  // namespace panoramia::wrn
