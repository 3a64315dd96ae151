#include "model_options.hpp"

#include <dlfcn.h>

#include <torch/torch.h>

#include "checkpoint.hpp"

namespace panoramia::gpt2 {

std::vector<OptionSpec> model_option_specs() {
  using T = OptionType;
  return {
      option("pretrained", T::kPath, "",
             "Hugging Face GPT-2 directory (config.json + model.safetensors) to fine-tune; empty: "
             "train the preset from scratch"),
      option("preset", T::kString, "gpt2",
             "architecture when training from scratch: gpt2 (124M) or tiny (2 layers, width 64)",
             {"gpt2", "tiny"}),
      option("layers", T::kInt, "0", "transformer blocks (0: the preset's)"),
      option("heads", T::kInt, "0", "attention heads (0: the preset's)"),
      option("width", T::kInt, "0", "embedding width (0: the preset's)").at_least(0),
      option("context", T::kInt, "0", "learned positions (0: the preset's)"),
      option("vocab_size", T::kInt, "0",
             "model vocabulary (0: GPT-2's 50257); must cover the reader's token ids"),
      option("dropout", T::kDouble, "0.1", "embedding, attention and residual dropout")
          .within_below(0, 1),
  };
}

std::vector<OptionSpec> train_option_specs(const std::string& default_epochs) {
  using T = OptionType;
  return {
      option("epochs", T::kInt, default_epochs, "training epochs").at_least(0),
      option("batch_size", T::kInt, "64", "blocks per optimiser step").at_least(1),
      option("lr", T::kDouble, "2e-5", "AdamW peak learning rate").above(0),
      option("weight_decay", T::kDouble, "0.01",
             "AdamW weight decay (not on biases and LayerNorm weights)")
          .at_least(0),
      option("warmup_steps", T::kInt, "100", "linear warmup steps, then linear decay to 0"),
      option("max_grad_norm", T::kDouble, "1.0", "gradient-norm clipping (0: none)").above(0),
      option("eval_batch_size", T::kInt, "32", "blocks per batch when scoring").at_least(1),
  };
}

std::vector<OptionSpec> tokenizer_option_specs() {
  using T = OptionType;
  return {
      option("tokenizer", T::kPath, "",
             "GPT-2 tokenizer directory (vocab.json + merges.txt, or encoder.json + vocab.bpe); "
             "empty: the GPT-2 vocabulary installed with the plugin"),
      option("vocab_size", T::kInt, "0",
             "keep only the tokens below this id and the merges producing them, a smaller "
             "byte-level BPE for small models (0: the whole vocabulary)"),
  };
}

Gpt2 make_model(const OptionValues& o, Context& ctx) {
  const std::string pretrained = o.get_string("pretrained");
  Gpt2Config c;
  if (!pretrained.empty()) {
    c = read_config(pretrained);
  } else {
    c = Gpt2Config::preset(o.get_string("preset"));
  }
  const auto override_with = [&](const char* name, std::int64_t& field) {
    const auto value = o.get_int(name);
    if (value < 0) throw std::invalid_argument(std::string("option ") + name + " must be >= 0");
    if (value == 0 || value == field) return;
    if (!pretrained.empty())
      throw std::invalid_argument(std::string("option ") + name + " = " + std::to_string(value) +
                                  " conflicts with the pretrained model's " +
                                  std::to_string(field) + " (" + pretrained + "/config.json)");
    field = value;
  };
  override_with("layers", c.layers);
  override_with("heads", c.heads);
  override_with("width", c.width);
  override_with("context", c.context);
  override_with("vocab_size", c.vocab);
  c.dropout = o.get_double("dropout");
  Gpt2 model(c);
  if (!pretrained.empty()) {
    load_weights(model, pretrained);
  } else {
    model->init_weights(ctx.generator());
  }
  model->to(ctx.device());
  return model;
}

TrainOptions train_options(const OptionValues& o) {
  TrainOptions t;
  t.epochs = o.get_int("epochs");
  t.batch_size = o.get_int("batch_size");
  t.lr = o.get_double("lr");
  t.weight_decay = o.get_double("weight_decay");
  t.warmup_steps = o.get_int("warmup_steps");
  t.max_grad_norm = o.get_double("max_grad_norm");
  t.eval_batch_size = o.get_int("eval_batch_size");
  if (t.epochs < 0 || t.batch_size <= 0 || t.eval_batch_size <= 0 || t.warmup_steps < 0 ||
      t.lr <= 0)
    throw std::invalid_argument(
        "options epochs and warmup_steps must be >= 0, batch_size, eval_batch_size and lr > 0");
  return t;
}

Tokenizer load_tokenizer(const OptionValues& o, const std::filesystem::path& bundled_dir) {
  const std::string dir = o.get_string("tokenizer");
  return Tokenizer::load(dir.empty() ? bundled_dir : std::filesystem::path(dir),
                         o.get_int("vocab_size"));
}

std::filesystem::path bundled_tokenizer_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&bundled_tokenizer_dir), &info) == 0 ||
      info.dli_fname == nullptr)
    throw std::runtime_error(
        "cannot locate the plugin library to find its bundled tokenizer; "
        "set the tokenizer option");
  return std::filesystem::path(info.dli_fname).parent_path() / "gpt2-tokenizer";
}

}  // namespace panoramia::gpt2
