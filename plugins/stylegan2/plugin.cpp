// Plugin `stylegan2`: a class-conditional StyleGAN2 generator (presets `cifar`, the reference's
// settings, and `tiny`, for CPU minutes).
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "presets.hpp"
#include "stylegan2.hpp"

namespace {

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind) const override {
    return panoramia::stylegan2::stylegan2_options();
  }
  std::unique_ptr<panoramia::Generator> make_generator(panoramia::Context&) override {
    return std::make_unique<panoramia::stylegan2::StyleGan2>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "stylegan2", "1.0.0", panoramia::kGenerator,
                 "Class-conditional StyleGAN2 image generator (presets cifar and tiny).")
