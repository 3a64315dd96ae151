// Plugin `gpt2`: GPT-2 as the generator of synthetic text (fine-tuned, prompted with real blocks)
// and as the target/helper model under audit (fine-tuned or loaded, per-token losses as side
// signals). See README.md.
#include <panoramia/plugin.hpp>

#include "gpt2_generator.hpp"
#include "gpt2_target.hpp"
#include "model_options.hpp"

namespace {

namespace gpt2 = panoramia::gpt2;

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind kind) const override {
    return kind == panoramia::kGenerator ? gpt2::Gpt2Generator::option_specs()
                                         : gpt2::Gpt2Target::option_specs();
  }
  std::unique_ptr<panoramia::Generator> make_generator(panoramia::Context&) override {
    return std::make_unique<gpt2::Gpt2Generator>(gpt2::bundled_tokenizer_dir());
  }
  std::unique_ptr<panoramia::TargetAdapter> make_target(panoramia::Context&) override {
    return std::make_unique<gpt2::Gpt2Target>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "gpt2", "1.0.0", panoramia::kGenerator | panoramia::kTarget,
                 "GPT-2 in LibTorch: fine-tuned text generator (top-k/top-p sampling with prompts) "
                 "and target/helper model with per-token losses as side signals.")
