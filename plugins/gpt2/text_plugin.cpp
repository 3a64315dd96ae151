// Plugin `text`: the text modality's reader (a UTF-8 file, e.g. WikiText, into GPT-2 token
// blocks) and featurizer (a GPT-2 side model's per-token losses). See README.md.
#include <panoramia/plugin.hpp>

#include "model_options.hpp"
#include "text_reader.hpp"

namespace {

namespace gpt2 = panoramia::gpt2;

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<panoramia::OptionSpec> options(panoramia::Kind kind) const override {
    return kind == panoramia::kDatasetReader ? gpt2::TextReader::option_specs()
                                             : gpt2::TextFeaturizer::option_specs();
  }
  std::unique_ptr<panoramia::DatasetReader> make_dataset_reader(panoramia::Context&) override {
    return std::make_unique<gpt2::TextReader>(gpt2::bundled_tokenizer_dir());
  }
  std::unique_ptr<panoramia::Featurizer> make_featurizer(panoramia::Context&) override {
    return std::make_unique<gpt2::TextFeaturizer>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "text", "1.0.0", panoramia::kDatasetReader | panoramia::kFeaturizer,
                 "Text files (WikiText or any UTF-8) as GPT-2 token blocks, and per-token loss "
                 "features of a GPT-2 side model.")
