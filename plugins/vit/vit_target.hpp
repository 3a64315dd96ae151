#pragma once
// The `vit` target adapter: a Vision Transformer trained from scratch or fine-tuned from a
// torchvision state dict (head replaced, backbone optionally frozen); with dp = true trained by
// DP-SGD with per-example loop clipping (dp_classifier.hpp).

#include <vector>

#include "dp_classifier_target.hpp"
#include "pretrained.hpp"
#include "vision_transformer.hpp"

namespace panoramia::vit {

std::vector<OptionSpec> vit_options();

/// The network options the target's options choose for images [channels, side, side]; with a
/// pretrained state dict `pretrained_channels` is the input channels of its patch projection.
VitOptions vit_options_from(const OptionValues& options, std::int64_t channels, std::int64_t side,
                            std::int64_t classes, std::int64_t pretrained_channels = 3);

class VitTarget final : public image::DpClassifierTarget {
 protected:
  std::string model_name() const override { return "vit"; }
  image::Architecture architecture(const OptionValues& options, std::int64_t channels,
                                   std::int64_t height, std::int64_t width,
                                   std::int64_t classes) const override;
  image::ImageClassifier build(const image::Architecture& architecture) const override;
  void prepare(image::ImageClassifierImpl& net, Context& ctx) override;

 private:
  /// The state dict named by option `pretrained`, read once per fit.
  const StateDict& pretrained(const std::string& file) const;
  mutable std::string pretrained_file_;
  mutable StateDict pretrained_;
};

}  // namespace panoramia::vit
