#pragma once
// The `text` reader and featurizer. The reader turns a UTF-8 text file (WikiText's wiki.*.raw or
// any other) into GPT-2 token blocks with the reference's options (docs/method.md §2.3); the
// featurizer turns a GPT-2 side model's per-token losses into attack features.

#include <filesystem>
#include <vector>

#include <panoramia/interfaces.hpp>

namespace panoramia::gpt2 {

class TextReader final : public DatasetReader {
 public:
  static std::vector<OptionSpec> option_specs();
  explicit TextReader(std::filesystem::path bundled_tokenizer)
      : bundled_tokenizer_(std::move(bundled_tokenizer)) {}
  /// x: int64 [n, block_size] token ids, y undefined, modality "text". Shuffled with the stage's
  /// generator when `shuffle` is set.
  Batch read(Context& ctx) override;
  /// Each block (real or generated token ids) decoded to text with the reader's tokenizer.
  Preview preview(const Batch& samples, Context& ctx) const override;

 private:
  std::filesystem::path bundled_tokenizer_;
};

/// Features of text samples from a side model's signals: the T-1 per-token losses (`loss_vector`),
/// optionally sorted (a position-free view), followed by their mean when `mean` is set.
class TextFeaturizer final : public Featurizer {
 public:
  static std::vector<OptionSpec> option_specs();
  at::Tensor featurize(const Batch& samples, const SideSignals& side, Context& ctx) override;
};

}  // namespace panoramia::gpt2
