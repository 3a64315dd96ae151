#pragma once
// The `gpt2` generator, as the reference's (docs/method.md §3.8): GPT-2 fine-tuned on the
// generator's blocks (the epoch of lowest validation loss kept), then prompted with the first
// tokens of real blocks (a prompt share of the pool held out of fine-tuning, like the reference's
// prompt split) and sampled with top-k / top-p / temperature, several returns per prompt. The new
// tokens are decoded to text and re-tokenised; samples whose re-tokenised length is not the block
// size are dropped. The samples are written as JSON lines to the work directory for inspection.

#include <filesystem>
#include <string>
#include <vector>

#include <panoramia/interfaces.hpp>

#include "generation.hpp"
#include "model.hpp"
#include "tokenizer.hpp"

namespace panoramia::gpt2 {

class Gpt2Generator final : public Generator {
 public:
  static std::vector<OptionSpec> option_specs();
  /// `bundled_tokenizer`: the vocabulary used when the `tokenizer` option is empty.
  explicit Gpt2Generator(std::filesystem::path bundled_tokenizer)
      : bundled_tokenizer_(std::move(bundled_tokenizer)) {}

  void fit(const Batch& train, Context& ctx) override;
  Batch sample(std::int64_t n, Context& ctx) override;
  /// model/ (Hugging Face layout), prompts.safetensors and gpt2-generator.json.
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  /// A directory written by `save`, or a Hugging Face GPT-2 directory (then the prompts are
  /// `<|endoftext|>` alone: unconditional samples, as GPT-2's own).
  void load(const std::filesystem::path& dir, Context& ctx) override;

 private:
  const Tokenizer& tokenizer(Context& ctx);
  std::int64_t block_size(Context& ctx) const;

  std::filesystem::path bundled_tokenizer_;
  std::unique_ptr<Tokenizer> tokenizer_;
  Gpt2 model_{nullptr};
  at::Tensor prompts_;  // [p, T] real blocks whose first tokens prompt the model
  std::int64_t block_size_ = 0;
};

}  // namespace panoramia::gpt2
