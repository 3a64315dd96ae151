// The `text` reader: a UTF-8 file (WikiText raw or any text) read, split into documents in each
// mode and cut into token blocks with the GPT-2 tokenizer of the tests' data.
#include <cstdlib>

#include <ATen/ATen.h>

#include "fuzz_input.hpp"
#include "text_blocks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace gpt2 = panoramia::gpt2;
  static const auto tokenizer = gpt2::Tokenizer::load(PANORAMIA_FUZZ_TOKENIZER_DIR);
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = panoramia::fuzz::write_input("wiki.train.raw", bytes);
  std::string text;
  try {
    text = gpt2::read_utf8_file(file);
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
    return 0;
  }
  for (const char* mode : {"whole", "wikitext", "paragraphs"}) {
    gpt2::TextBlockOptions options;
    options.block_size = 8;
    options.documents = mode;
    options.min_document_tokens = 2;
    options.max_document_tokens = 64;
    try {
      const auto blocks = gpt2::text_blocks(text, tokenizer, options, file.string());
      if (blocks.dim() != 2 || (blocks.numel() > 0 && blocks.size(1) != 8)) std::abort();
      if (blocks.numel() > 0 && (blocks.min().item<std::int64_t>() < 0 ||
                                 blocks.max().item<std::int64_t>() >= tokenizer.vocab_size()))
        std::abort();
    } catch (const std::exception& e) {
      panoramia::fuzz::expect_message(e);
    }
  }
  return 0;
}
