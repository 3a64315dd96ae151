// GPT-2's BPE vocabulary (vocab.json) and merges (merges.txt): the input is the vocabulary, a
// "--8<--" separator line, then the merges. A tokenizer that loads must encode and decode a text
// with every byte value back to itself.
#include <cstdlib>
#include <string>

#include "fuzz_input.hpp"
#include "tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = panoramia::fuzz::split_parts(input);
  panoramia::fuzz::write_input("vocab.json", parts[0]);
  panoramia::fuzz::write_input("merges.txt", parts.size() > 1 ? parts[1] : std::string_view());
  static const std::string text = [] {
    std::string t = "Hello world, it's 2026!\n  tabs\tand\r\nlines ";
    for (int b = 0; b < 256; ++b) t.push_back(static_cast<char>(b));
    return t;
  }();
  try {
    const auto tokenizer = panoramia::gpt2::Tokenizer::load(panoramia::fuzz::scratch_dir());
    const auto ids = tokenizer.encode(text);
    for (const auto id : ids)
      if (id < 0 || id >= tokenizer.vocab_size()) std::abort();
    if (tokenizer.decode(ids) != text) std::abort();
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
  }
  return 0;
}
