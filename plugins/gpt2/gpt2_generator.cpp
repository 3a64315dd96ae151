#include "gpt2_generator.hpp"

#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "checkpoint.hpp"
#include "gpt2_target.hpp"
#include "model_options.hpp"
#include "safetensors.hpp"
#include "training.hpp"

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;
using T = OptionType;
constexpr const char* kGeneratorManifest = "gpt2-generator.json";

}  // namespace

std::vector<OptionSpec> Gpt2Generator::option_specs() {
  auto specs = model_option_specs();
  for (auto& s : train_option_specs("60")) specs.push_back(s);
  specs.push_back(tokenizer_option_specs().front());  // vocab_size is the model's option
  const std::vector<OptionSpec> more = {
      option("validation_fraction", T::kDouble, "0.1",
             "share of the fine-tuning blocks held out to keep the epoch of lowest validation "
             "loss (0: keep the last epoch)"),
      option("prompt_fraction", T::kDouble, "0.3",
             "share of the generator's blocks held out of fine-tuning to prompt it (the "
             "reference's prompt split: 15% beside 35% for fine-tuning); 0: prompt with the "
             "fine-tuning blocks")
          .within(0, 1),
      option("prompt_tokens", T::kInt, "0", "prompt length in tokens (0: the block size)"),
      option("new_tokens", T::kInt, "0", "tokens generated per sample (0: the block size)")
          .at_least(0),
      option("block_size", T::kInt, "0",
             "sample length in tokens after re-tokenisation (0: that of the fine-tuning blocks; "
             "needed when loading a Hugging Face model)"),
      option("top_k", T::kInt, "200", "sample among the k most likely tokens (0: all)"),
      option("top_p", T::kDouble, "1.0", "nucleus sampling mass (1: no filter)"),
      option("temperature", T::kDouble, "1.0", "softmax temperature"),
      option("returns_per_prompt", T::kInt, "8", "samples drawn per prompt").at_least(1),
      option("sample_batch_size", T::kInt, "128", "sequences generated together").at_least(1),
      option("use_cache", T::kBool, "true", "use the key/value cache while generating"),
  };
  specs.insert(specs.end(), more.begin(), more.end());
  return specs;
}

const Tokenizer& Gpt2Generator::tokenizer(Context& ctx) {
  if (!tokenizer_) {
    const std::string dir = ctx.options().get_string("tokenizer");
    tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(
        dir.empty() ? bundled_tokenizer_ : fs::path(dir), ctx.options().get_int("vocab_size")));
  }
  return *tokenizer_;
}

std::int64_t Gpt2Generator::block_size(Context& ctx) const {
  const auto option = ctx.options().get_int("block_size");
  const auto size = option > 0 ? option : block_size_;
  if (size < 2)
    throw std::invalid_argument(
        "option block_size must be set (>= 2) for a generator loaded "
        "without its training blocks");
  return size;
}

void Gpt2Generator::fit(const Batch& train, Context& ctx) {
  const auto& o = ctx.options();
  check_text_batch(train, "the generator's training data");
  const double prompt_fraction = o.get_double("prompt_fraction");
  const double validation_fraction = o.get_double("validation_fraction");
  if (!(prompt_fraction >= 0 && prompt_fraction < 1) ||
      !(validation_fraction >= 0 && validation_fraction < 1))
    throw std::invalid_argument(
        "options prompt_fraction and validation_fraction must be in [0, 1)");
  tokenizer(ctx);  // fail early on a bad tokenizer option
  const auto n = train.size();
  const auto order = torch::randperm(n, ctx.generator(), torch::kInt64);
  const auto blocks = train.x.index_select(0, order);
  const auto n_prompt = static_cast<std::int64_t>(std::floor(prompt_fraction * double(n)));
  const auto rest = blocks.slice(0, n_prompt);
  const auto n_val =
      static_cast<std::int64_t>(std::floor(validation_fraction * double(rest.size(0))));
  if (rest.size(0) - n_val < 1)
    throw std::invalid_argument(fmt::format(
        "the generator's {} blocks leave none to fine-tune on after prompt_fraction and "
        "validation_fraction",
        n));
  const auto validation = rest.slice(0, 0, n_val);
  const auto fine_tune = rest.slice(0, n_val);
  prompts_ = n_prompt > 0 ? blocks.slice(0, 0, n_prompt).clone() : fine_tune.clone();
  block_size_ = train.x.size(1);

  model_ = make_model(o, ctx);
  check_vocabulary(train.x, model_->config(), "vocab_size");
  ModelState best;
  double best_loss = std::numeric_limits<double>::infinity();
  std::int64_t best_epoch = 0;
  train_lm(model_, fine_tune, validation, train_options(o), ctx, "fine-tuning the gpt2 generator",
           [&](std::int64_t epoch, double, double val) {
             if (n_val > 0 && val < best_loss) {
               best_loss = val;
               best_epoch = epoch;
               best = copy_state(model_);
             }
           });
  if (!best.empty()) restore_state(model_, best);
  ctx.logger()->info(
      "gpt2 generator: fine-tuned on {} blocks, {} prompts{}", fine_tune.size(0), prompts_.size(0),
      n_val > 0 ? fmt::format(", kept epoch {} (validation loss {:.4f})", best_epoch, best_loss)
                : std::string());
}

Batch Gpt2Generator::sample(std::int64_t n, Context& ctx) {
  if (!model_) throw std::logic_error("sample() before fit() or load()");
  const auto& o = ctx.options();
  const auto& tok = tokenizer(ctx);
  const auto t = block_size(ctx);
  at::Tensor prompts = prompts_;
  std::int64_t prompt_tokens = o.get_int("prompt_tokens");
  if (!prompts.defined() || prompts.size(0) == 0) {  // a loaded Hugging Face model: unconditional
    if (tok.end_of_text() < 0)
      throw std::invalid_argument(
          "the tokenizer has no <|endoftext|> token to prompt a generator "
          "loaded without prompts");
    prompts = torch::full({1, 1}, tok.end_of_text(), torch::kInt64);
    prompt_tokens = 1;
  }
  if (prompt_tokens <= 0) prompt_tokens = t;
  if (prompt_tokens > prompts.size(1))
    throw std::invalid_argument(
        fmt::format("option prompt_tokens = {} exceeds the {}-token prompt "
                    "blocks",
                    prompt_tokens, prompts.size(1)));
  prompts = prompts.slice(1, 0, prompt_tokens);
  const auto new_tokens = o.get_int("new_tokens") > 0 ? o.get_int("new_tokens") : t;
  const auto returns = o.get_int("returns_per_prompt");
  const auto batch_size = o.get_int("sample_batch_size");
  if (returns < 1 || batch_size < 1)
    throw std::invalid_argument("options returns_per_prompt and sample_batch_size must be >= 1");
  SamplingOptions sampling;
  sampling.top_k = o.get_int("top_k");
  sampling.top_p = o.get_double("top_p");
  sampling.temperature = o.get_double("temperature");
  sampling.use_cache = o.get_bool("use_cache");
  const auto prompts_per_batch = std::max<std::int64_t>(1, batch_size / returns);

  std::ofstream out(ctx.work_dir() / "samples.jsonl", std::ios::app);
  std::vector<at::Tensor> accepted;
  std::int64_t kept = 0, generated = 0;
  const std::int64_t max_generated = std::max<std::int64_t>(20 * n, 1000);
  auto order = torch::randperm(prompts.size(0), ctx.generator(), torch::kInt64);
  std::int64_t next_prompt = 0;
  auto progress = ctx.progress("sampling from the gpt2 generator", n);
  while (kept < n) {
    if (generated >= max_generated)
      throw std::runtime_error(fmt::format(
          "only {} of {} generated samples re-tokenised to {} tokens; the generator needs more "
          "training or a different new_tokens/block_size",
          kept, generated, t));
    std::vector<std::int64_t> picks;
    for (std::int64_t i = 0; i < prompts_per_batch; ++i) {
      if (next_prompt == order.size(0)) {
        order = torch::randperm(prompts.size(0), ctx.generator(), torch::kInt64);
        next_prompt = 0;
      }
      picks.push_back(order[next_prompt++].item<std::int64_t>());
    }
    const auto batch_prompts =
        prompts.index_select(0, torch::tensor(picks, torch::kInt64)).repeat_interleave(returns, 0);
    const auto tokens = generate(model_, batch_prompts, new_tokens, sampling, ctx.generator());
    generated += tokens.size(0);
    for (std::int64_t r = 0; r < tokens.size(0) && kept < n; ++r) {
      const auto row = tokens[r].contiguous();
      const std::string text = tok.decode(row.data_ptr<std::int64_t>(), row.numel());
      auto ids = tok.encode(text);
      if (static_cast<std::int64_t>(ids.size()) != t) continue;
      accepted.push_back(torch::tensor(ids, torch::kInt64));
      const auto prompt = batch_prompts[r].contiguous();
      out << nlohmann::json{{"prompt", tok.decode(prompt.data_ptr<std::int64_t>(), prompt.numel())},
                            {"text", text}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
      ++kept;
      progress->advance(1);
    }
  }
  progress->finish();
  ctx.logger()->info(
      "gpt2 generator: kept {} of {} samples ({:.1f}%) whose text re-tokenises to "
      "{} tokens; written to {}",
      kept, generated, 100.0 * double(kept) / double(generated), t,
      (ctx.work_dir() / "samples.jsonl").string());
  Batch b;
  b.x = torch::stack(accepted);
  b.modality = "text";
  return b;
}

void Gpt2Generator::save(const fs::path& dir, Context&) const {
  if (!model_) throw std::logic_error("save() before fit() or load()");
  fs::create_directories(dir / "model");
  save_pretrained(model_, dir / "model");
  if (prompts_.defined() && prompts_.size(0) > 0)
    write_safetensors(dir / "prompts.safetensors", {{"prompts", prompts_}});
  std::ofstream manifest(dir / kGeneratorManifest);
  manifest << nlohmann::json{{"block_size", block_size_}}.dump(2) << "\n";
  if (!manifest) throw std::runtime_error("cannot write " + (dir / kGeneratorManifest).string());
}

void Gpt2Generator::load(const fs::path& dir, Context& ctx) {
  prompts_ = at::Tensor();
  block_size_ = 0;
  if (fs::exists(dir / kGeneratorManifest)) {
    std::ifstream in(dir / kGeneratorManifest);
    try {
      block_size_ = nlohmann::json::parse(in).at("block_size").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error((dir / kGeneratorManifest).string() + " is malformed: " + e.what());
    }
    model_ = load_pretrained(dir / "model", ctx.device());
    if (fs::exists(dir / "prompts.safetensors")) {
      auto stored = read_safetensors(dir / "prompts.safetensors");
      if (!stored.count("prompts") || stored.at("prompts").dim() != 2)
        throw std::runtime_error((dir / "prompts.safetensors").string() +
                                 " has no [n, T] tensor 'prompts'");
      prompts_ = stored.at("prompts").to(torch::kInt64);
    }
  } else if (is_pretrained_dir(dir)) {
    model_ = load_pretrained(dir, ctx.device());
  } else {
    throw std::runtime_error("no GPT-2 generator in " + dir.string() + ": expected " +
                             kGeneratorManifest +
                             " (a saved generator) or config.json + model.safetensors (a Hugging "
                             "Face model)");
  }
  model_->eval();
}

}  // namespace panoramia::gpt2
