#include "text_reader.hpp"

#include <torch/torch.h>

#include "model_options.hpp"
#include "text_blocks.hpp"

namespace panoramia::gpt2 {

using T = OptionType;

std::vector<OptionSpec> TextReader::option_specs() {
  auto path = option("path", T::kPath, "", "UTF-8 text file (e.g. WikiText's wiki.train.raw)");
  path.required = true;
  std::vector<OptionSpec> specs = {path};
  for (auto& s : tokenizer_option_specs()) specs.push_back(s);
  const std::vector<OptionSpec> more = {
      option("block_size", T::kInt, "64", "tokens per sample"),
      option("documents", T::kString, "whole",
             "how the file splits into documents: whole (one document), wikitext (at \" = Title "
             "= \" lines) or paragraphs (at blank lines)",
             {"whole", "wikitext", "paragraphs"}),
      option("min_document_tokens", T::kInt, "0",
             "keep only documents of at least this many tokens (the reference: 3200 = 50 blocks)"),
      option("max_document_tokens", T::kInt, "0",
             "truncate each document to this many tokens (0: no truncation)"),
      option("head_fraction", T::kDouble, "1.0",
             "use only the first fraction of the documents (the reference: 0.16 of WikiText-103)")
          .within(0, 1),
      option("shuffle", T::kBool, "true", "shuffle the blocks (seeded)"),
      option("max_blocks", T::kInt, "0", "keep at most this many blocks (0: all)"),
  };
  specs.insert(specs.end(), more.begin(), more.end());
  return specs;
}

Batch TextReader::read(Context& ctx) {
  const auto& o = ctx.options();
  const std::filesystem::path path = o.get_string("path");
  const auto tokenizer = load_tokenizer(o, bundled_tokenizer_);
  const std::string text = read_utf8_file(path);
  TextBlockOptions options;
  options.block_size = o.get_int("block_size");
  options.documents = o.get_string("documents");
  options.min_document_tokens = o.get_int("min_document_tokens");
  options.max_document_tokens = o.get_int("max_document_tokens");
  options.head_fraction = o.get_double("head_fraction");
  auto progress = ctx.progress("tokenising " + path.filename().string(),
                               static_cast<std::int64_t>(text.size()));
  std::size_t reported = 0;
  auto blocks = text_blocks(text, tokenizer, options, path.string(), [&](std::size_t done) {
    progress->advance(static_cast<std::int64_t>(done - reported));
    reported = done;
  });
  progress->finish();
  const auto total = blocks.size(0);
  if (o.get_bool("shuffle"))
    blocks = blocks.index_select(0, torch::randperm(total, ctx.generator(), torch::kInt64));
  const auto max_blocks = o.get_int("max_blocks");
  if (max_blocks > 0 && max_blocks < blocks.size(0)) blocks = blocks.slice(0, 0, max_blocks);
  ctx.logger()->info("text: {} blocks of {} tokens from {} ({} bytes, vocabulary {})",
                     blocks.size(0), options.block_size, path.string(), text.size(),
                     tokenizer.vocab_size());
  Batch b;
  b.x = blocks.contiguous();
  b.modality = "text";
  return b;
}

Preview TextReader::preview(const Batch& samples, Context& ctx) const {
  if (samples.x.dim() != 2 || samples.x.scalar_type() != torch::kInt64) return {};
  const auto tokenizer = load_tokenizer(ctx.options(), bundled_tokenizer_);
  const auto ids = samples.x.contiguous();
  const std::int64_t n = std::min<std::int64_t>(ids.size(0), kPreviewSamples);
  Preview preview;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto row = ids[i];
    preview.texts.push_back(
        tokenizer.decode(row.data_ptr<std::int64_t>(), static_cast<std::size_t>(row.numel())));
  }
  return preview;
}

std::vector<OptionSpec> TextFeaturizer::option_specs() {
  return {option("mean", T::kBool, "true", "append the mean per-token loss"),
          option("sort", T::kBool, "false",
                 "sort each sample's per-token losses (features independent of position)")};
}

at::Tensor TextFeaturizer::featurize(const Batch& samples, const SideSignals& side, Context& ctx) {
  if (!side.loss_vector.defined() || side.loss_vector.dim() != 2 ||
      side.loss_vector.size(0) != samples.size())
    throw std::invalid_argument(
        "the text featurizer needs the side model's per-token losses (loss_vector [n, T-1]); "
        "use a text target such as gpt2");
  auto losses = side.loss_vector.to(torch::kFloat32);
  if (ctx.options().get_bool("sort")) losses = std::get<0>(losses.sort(1));
  if (!ctx.options().get_bool("mean")) return losses.contiguous();
  return torch::cat({losses, side.loss_vector.to(torch::kFloat32).mean(1, true)}, 1);
}

}  // namespace panoramia::gpt2
