#pragma once
// The options the `gpt2` target and generator share: which model (a Hugging Face directory to start
// from, or a preset with overrides) and how to fine-tune it; and the tokenizer options of the
// `text` reader and the generator.

#include <string>
#include <vector>

#include <panoramia/context.hpp>
#include <panoramia/options.hpp>

#include "model.hpp"
#include "tokenizer.hpp"
#include "training.hpp"

namespace panoramia::gpt2 {

/// pretrained, preset, layers, heads, width, context, vocab_size, dropout.
std::vector<OptionSpec> model_option_specs();
/// epochs, batch_size, lr, weight_decay, warmup_steps, max_grad_norm, eval_batch_size;
/// `default_epochs` differs between the target and the generator.
std::vector<OptionSpec> train_option_specs(const std::string& default_epochs);
/// tokenizer, vocab_size.
std::vector<OptionSpec> tokenizer_option_specs();

/// A new model on `ctx.device()`: the `pretrained` directory's weights, or the preset (with the
/// overrides) initialised from `ctx.generator()`. Throws naming the option when they conflict.
Gpt2 make_model(const OptionValues& options, Context& ctx);
TrainOptions train_options(const OptionValues& options);

/// The tokenizer named by the `tokenizer` and `vocab_size` options; an empty `tokenizer` is the
/// GPT-2 vocabulary installed beside the plugin (`bundled_dir`).
Tokenizer load_tokenizer(const OptionValues& options, const std::filesystem::path& bundled_dir);

/// The directory of the GPT-2 vocabulary shipped with the plugins: `gpt2-tokenizer` next to the
/// shared library this function is linked into.
std::filesystem::path bundled_tokenizer_dir();

}  // namespace panoramia::gpt2
