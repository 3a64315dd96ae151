#include "text_blocks.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>

#include "pretokenizer.hpp"

namespace panoramia::gpt2 {
namespace {

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// " = Title = " (one '=' each side, as WikiText writes article titles; sections use "= =").
bool wikitext_title(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line.size() >= 6 && line.substr(0, 3) == " = " && line[3] != '=' &&
         line.substr(line.size() - 3) == " = " && line[line.size() - 4] != '=';
}

}  // namespace

std::string read_utf8_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open the text file " + file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read the text file " + file.string());
  std::string text = buffer.str();
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size();) {
    const int length = utf8_sequence_length(text, i);
    if (length == 0)
      throw std::runtime_error(file.string() + ":" + std::to_string(line) +
                               ": invalid UTF-8 at byte offset " + std::to_string(i));
    if (text[i] == '\n') ++line;
    i += length;
  }
  return text;
}

std::vector<std::string_view> split_documents(std::string_view text, const std::string& mode) {
  std::vector<std::string_view> docs;
  const auto add = [&](std::size_t begin, std::size_t end) {
    const auto doc = text.substr(begin, end - begin);
    if (!blank(doc)) docs.push_back(doc);
  };
  if (mode == "whole") {
    add(0, text.size());
    return docs;
  }
  if (mode != "wikitext" && mode != "paragraphs")
    throw std::invalid_argument("unknown document mode '" + mode +
                                "' (whole, wikitext, paragraphs)");
  std::size_t doc_start = 0;
  bool previous_blank = false;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    const auto line = text.substr(pos, end - pos);
    if (mode == "wikitext") {
      const auto content = line.back() == '\n' ? line.substr(0, line.size() - 1) : line;
      if (wikitext_title(content) && pos > doc_start) {
        add(doc_start, pos);
        doc_start = pos;
      }
    } else {
      const bool is_blank = blank(line);
      if (!is_blank && previous_blank && pos > doc_start) {
        add(doc_start, pos);
        doc_start = pos;
      }
      previous_blank = is_blank;
    }
    pos = end;
  }
  add(doc_start, text.size());
  return docs;
}

at::Tensor text_blocks(std::string_view text, const Tokenizer& tokenizer,
                       const TextBlockOptions& options, const std::string& source,
                       const std::function<void(std::size_t)>& on_document) {
  if (options.block_size < 2)
    throw std::invalid_argument("block_size must be at least 2 (got " +
                                std::to_string(options.block_size) + ")");
  if (!(options.head_fraction > 0 && options.head_fraction <= 1))
    throw std::invalid_argument("head_fraction must be in (0, 1]");
  auto docs = split_documents(text, options.documents);
  const auto total_docs = docs.size();
  docs.resize(static_cast<std::size_t>(std::ceil(options.head_fraction * double(docs.size()))));
  std::vector<std::int64_t> tokens;
  std::size_t kept = 0;
  for (const auto doc : docs) {
    auto ids = tokenizer.encode(doc);
    if (options.min_document_tokens > 0 &&
        static_cast<std::int64_t>(ids.size()) < options.min_document_tokens) {
      if (on_document) on_document(static_cast<std::size_t>(doc.data() + doc.size() - text.data()));
      continue;
    }
    if (options.max_document_tokens > 0 &&
        static_cast<std::int64_t>(ids.size()) > options.max_document_tokens)
      ids.resize(static_cast<std::size_t>(options.max_document_tokens));
    tokens.insert(tokens.end(), ids.begin(), ids.end());
    ++kept;
    if (on_document) on_document(static_cast<std::size_t>(doc.data() + doc.size() - text.data()));
  }
  const auto n = static_cast<std::int64_t>(tokens.size()) / options.block_size;
  if (n == 0)
    throw std::runtime_error(source + " gives " + std::to_string(tokens.size()) + " tokens in " +
                             std::to_string(kept) + " of its " + std::to_string(total_docs) +
                             " documents after the filters, fewer than one block of " +
                             std::to_string(options.block_size));
  tokens.resize(static_cast<std::size_t>(n * options.block_size));
  return torch::tensor(tokens, torch::kInt64).view({n, options.block_size});
}

}  // namespace panoramia::gpt2
