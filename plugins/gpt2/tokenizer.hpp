#pragma once
// GPT-2's byte-level BPE tokenizer (Radford et al. 2019): the pre-tokenisation pattern cuts the
// text into pieces, each piece's bytes are mapped to vocabulary symbols, and the merges are applied
// in rank order. Reads the Hugging Face layout (vocab.json + merges.txt) or OpenAI's original one
// (encoder.json + vocab.bpe). Decoding concatenates the tokens' bytes, so decode(encode(x)) == x
// for any byte string (bytes that are not valid UTF-8 are encoded as one-byte tokens).

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pretokenizer.hpp"

namespace panoramia::gpt2 {

class Tokenizer {
 public:
  /// Loads the vocabulary in `dir`. `vocab_size` > 0 keeps only the tokens with ids below it and
  /// the merges that produce them (for GPT-2, whose merge i is token 256 + i, the first `vocab_size
  /// - 256` merges: a smaller byte-level BPE with the same ids, for small models). Throws naming
  /// the file (and line) when a file is missing or malformed.
  static Tokenizer load(const std::filesystem::path& dir, std::int64_t vocab_size = 0);

  /// Token ids of `text`. Not thread-safe (a cache of encoded pieces is shared).
  std::vector<std::int64_t> encode(std::string_view text) const;
  /// The bytes of `ids`; throws naming the first id outside the vocabulary.
  std::string decode(const std::int64_t* ids, std::size_t count) const;
  std::string decode(const std::vector<std::int64_t>& ids) const {
    return decode(ids.data(), ids.size());
  }

  /// One more than the largest id (the size of a model's embedding table).
  std::int64_t vocab_size() const { return static_cast<std::int64_t>(token_bytes_.size()); }
  /// The id of `<|endoftext|>`, or -1 when the vocabulary has none.
  std::int64_t end_of_text() const { return end_of_text_; }
  /// Where the vocabulary was read from.
  const std::filesystem::path& directory() const { return directory_; }

 private:
  Tokenizer() = default;
  void encode_piece(std::string_view piece, std::vector<std::int64_t>& out) const;

  struct PairHash {
    std::size_t operator()(std::uint64_t key) const { return std::hash<std::uint64_t>()(key); }
  };
  struct Merge {
    std::int32_t rank;
    std::int32_t result;
  };

  PreTokenizer pretokenizer_;
  std::vector<std::string> token_bytes_;             // id -> bytes ("" for an unused id)
  std::int32_t byte_token_[256] = {};                // byte -> id of its one-byte token
  std::unordered_map<std::uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  std::int64_t end_of_text_ = -1;
  std::filesystem::path directory_;
  mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache_;
  mutable std::mutex cache_mutex_;

 public:
  Tokenizer(Tokenizer&& other) noexcept;
  Tokenizer& operator=(Tokenizer&& other) noexcept;
};

/// GPT-2's reversible map from bytes to printable symbols (byte b -> code point), as in the
/// vocabulary files.
const std::vector<char32_t>& byte_symbols();

}  // namespace panoramia::gpt2
