#pragma once
// From a UTF-8 text file to fixed-length token blocks, as the reference's data module: optional
// split into documents (WikiText's " = Title = " headings, or blank-line paragraphs), a
// document-level filter (keep documents of at least N tokens, truncate them to M), concatenation
// and cutting into blocks of T tokens (the incomplete tail is dropped).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tokenizer.hpp"

namespace panoramia::gpt2 {

struct TextBlockOptions {
  std::int64_t block_size = 64;
  std::string documents = "whole";       // whole | wikitext | paragraphs
  std::int64_t min_document_tokens = 0;  // 0: keep every document
  std::int64_t max_document_tokens = 0;  // 0: no truncation
  double head_fraction = 1.0;  // use the first fraction of the documents (the reference's "16%")
};

/// The file's bytes; throws naming the file, the line and the byte offset of the first invalid
/// UTF-8 sequence, or when the file cannot be read.
std::string read_utf8_file(const std::filesystem::path& file);

/// The documents of `text` (views into it) for mode "whole", "wikitext" or "paragraphs"; documents
/// that are only whitespace are left out.
std::vector<std::string_view> split_documents(std::string_view text, const std::string& mode);

/// Token blocks [n, block_size] (int64) of `text`. `source` names the input in errors;
/// `on_document` (optional) is called after each document with the bytes done so far.
at::Tensor text_blocks(std::string_view text, const Tokenizer& tokenizer,
                       const TextBlockOptions& options, const std::string& source,
                       const std::function<void(std::size_t)>& on_document = {});

}  // namespace panoramia::gpt2
