#include "tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open the tokenizer file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

// Decodes the UTF-8 symbol string of a vocabulary entry to the bytes it stands for; false when a
// symbol is not one of the 256 byte symbols.
bool symbols_to_bytes(const std::string& symbols, std::string& bytes) {
  static const std::unordered_map<char32_t, unsigned char> inverse = [] {
    std::unordered_map<char32_t, unsigned char> m;
    for (int b = 0; b < 256; ++b) m[byte_symbols()[b]] = static_cast<unsigned char>(b);
    return m;
  }();
  bytes.clear();
  for (std::size_t i = 0; i < symbols.size();) {
    const int length = utf8_sequence_length(symbols, i);
    if (length == 0) return false;
    char32_t cp = static_cast<unsigned char>(symbols[i]);
    if (length > 1) {
      cp &= 0xFF >> (length + 1);
      for (int k = 1; k < length; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(symbols[i + k]) & 0x3F);
    }
    const auto it = inverse.find(cp);
    if (it == inverse.end()) return false;
    bytes.push_back(static_cast<char>(it->second));
    i += length;
  }
  return true;
}

}  // namespace

const std::vector<char32_t>& byte_symbols() {
  static const std::vector<char32_t> table = [] {
    std::vector<char32_t> t(256, 0);
    std::vector<bool> printable(256, false);
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) t[b] = printable[b] ? char32_t(b) : next++;
    return t;
  }();
  return table;
}

Tokenizer::Tokenizer(Tokenizer&& other) noexcept
    : pretokenizer_(std::move(other.pretokenizer_)),
      token_bytes_(std::move(other.token_bytes_)),
      merges_(std::move(other.merges_)),
      end_of_text_(other.end_of_text_),
      directory_(std::move(other.directory_)),
      cache_(std::move(other.cache_)) {
  std::copy(std::begin(other.byte_token_), std::end(other.byte_token_), byte_token_);
}

Tokenizer& Tokenizer::operator=(Tokenizer&& other) noexcept {
  pretokenizer_ = std::move(other.pretokenizer_);
  token_bytes_ = std::move(other.token_bytes_);
  merges_ = std::move(other.merges_);
  end_of_text_ = other.end_of_text_;
  directory_ = std::move(other.directory_);
  cache_ = std::move(other.cache_);
  std::copy(std::begin(other.byte_token_), std::end(other.byte_token_), byte_token_);
  return *this;
}

Tokenizer Tokenizer::load(const fs::path& dir, std::int64_t vocab_size) {
  fs::path vocab_file = dir / "vocab.json";
  fs::path merges_file = dir / "merges.txt";
  if (!fs::exists(vocab_file) || !fs::exists(merges_file)) {
    vocab_file = dir / "encoder.json";
    merges_file = dir / "vocab.bpe";
  }
  if (!fs::exists(vocab_file) || !fs::exists(merges_file))
    throw std::runtime_error("no GPT-2 tokenizer in " + dir.string() +
                             ": expected vocab.json + merges.txt or encoder.json + vocab.bpe");
  Tokenizer t;
  t.directory_ = dir;
  const std::int64_t limit = vocab_size > 0 ? vocab_size : std::numeric_limits<std::int32_t>::max();

  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(read_text(vocab_file));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("the tokenizer vocabulary " + vocab_file.string() +
                             " is not valid JSON: " + e.what());
  }
  if (!vocab.is_object())
    throw std::runtime_error("the tokenizer vocabulary " + vocab_file.string() +
                             " is not a JSON object of token -> id");
  std::unordered_map<std::string, std::int32_t> ids;
  std::unordered_map<std::int64_t, std::string> owners;
  std::int64_t max_id = -1;
  for (const auto& [symbols, value] : vocab.items()) {
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
      throw std::runtime_error("the tokenizer vocabulary " + vocab_file.string() + " maps '" +
                               symbols + "' to something that is not a non-negative integer id");
    const std::int64_t id = value.get<std::int64_t>();
    // Ids index a table: one beyond the number of entries (a corrupt or hostile file) would size it
    // by the id, so it is refused before anything is allocated.
    if (id >= static_cast<std::int64_t>(vocab.size()))
      throw std::runtime_error("the tokenizer vocabulary " + vocab_file.string() + " maps '" +
                               symbols + "' to id " + std::to_string(id) + ", but it has only " +
                               std::to_string(vocab.size()) + " entries (ids lie in [0, " +
                               std::to_string(vocab.size()) + "))");
    // Two tokens on one id would decode one of them as the other: refused (found by fuzz_bpe).
    if (const auto [owner, fresh] = owners.emplace(id, symbols); !fresh)
      throw std::runtime_error("the tokenizer vocabulary " + vocab_file.string() + " maps both '" +
                               owner->second + "' and '" + symbols + "' to id " +
                               std::to_string(id));
    if (id >= limit) continue;
    ids[symbols] = static_cast<std::int32_t>(id);
    max_id = std::max(max_id, id);
  }
  t.token_bytes_.assign(static_cast<std::size_t>(max_id + 1), std::string());
  std::string bytes;
  for (const auto& [symbols, id] : ids) {
    if (!symbols_to_bytes(symbols, bytes)) {
      // A special token written with characters outside the byte alphabet: it decodes to itself.
      bytes = symbols;
    }
    t.token_bytes_[id] = bytes;
    if (symbols == "<|endoftext|>") t.end_of_text_ = id;
  }
  for (int b = 0; b < 256; ++b) {
    std::string symbol;
    const char32_t cp = byte_symbols()[b];
    if (cp < 0x80) {
      symbol.push_back(static_cast<char>(cp));
    } else {  // every byte symbol is below U+0800: two UTF-8 bytes
      symbol.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      symbol.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    const auto it = ids.find(symbol);
    if (it == ids.end())
      throw std::runtime_error(
          "the tokenizer vocabulary " + vocab_file.string() + " has no token for byte " +
          std::to_string(b) +
          (vocab_size > 0 ? " below vocab_size " + std::to_string(vocab_size) : std::string()));
    t.byte_token_[b] = it->second;
  }

  std::istringstream merges(read_text(merges_file));
  std::string line;
  int line_number = 0;
  std::int32_t rank = 0;
  while (std::getline(merges, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_number == 1 && line.rfind("#version", 0) == 0)) continue;
    const auto space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw std::runtime_error(merges_file.string() + ":" + std::to_string(line_number) +
                               ": a merge must be two tokens separated by one space");
    const std::string left = line.substr(0, space);
    const std::string right = line.substr(space + 1);
    const auto l = ids.find(left), r = ids.find(right), m = ids.find(left + right);
    const std::int32_t this_rank = rank++;
    if (m == ids.end() && vocab_size > 0) continue;  // a merge into a token cut by vocab_size
    if (l == ids.end() || r == ids.end() || m == ids.end())
      throw std::runtime_error(merges_file.string() + ":" + std::to_string(line_number) +
                               ": the merge '" + line + "' uses a token missing from " +
                               vocab_file.filename().string());
    t.merges_.emplace(pair_key(l->second, r->second), Merge{this_rank, m->second});
  }
  return t;
}

void Tokenizer::encode_piece(std::string_view piece, std::vector<std::int64_t>& out) const {
  std::vector<std::int32_t> word(piece.size());
  for (std::size_t i = 0; i < piece.size(); ++i)
    word[i] = byte_token_[static_cast<unsigned char>(piece[i])];
  // As the reference: repeatedly merge every occurrence (left to right) of the lowest-ranked pair.
  while (word.size() > 1) {
    std::int32_t best_rank = std::numeric_limits<std::int32_t>::max();
    std::int32_t best_left = 0, best_right = 0, best_result = 0;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = merges_.find(pair_key(word[i], word[i + 1]));
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_left = word[i];
        best_right = word[i + 1];
        best_result = it->second.result;
      }
    }
    if (best_rank == std::numeric_limits<std::int32_t>::max()) break;
    std::size_t w = 0;
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == best_left && word[i + 1] == best_right) {
        word[w++] = best_result;
        i += 2;
      } else {
        word[w++] = word[i++];
      }
    }
    word.resize(w);
  }
  out.insert(out.end(), word.begin(), word.end());
}

std::vector<std::int64_t> Tokenizer::encode(std::string_view text) const {
  std::vector<std::int64_t> out;
  out.reserve(text.size() / 3 + 1);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  for (const auto piece : pretokenizer_.split(text)) {
    if (piece.size() > 64) {  // long pieces (whitespace runs, digit strings) are rare: no cache
      encode_piece(piece, out);
      continue;
    }
    auto it = cache_.find(std::string(piece));
    if (it == cache_.end()) {
      std::vector<std::int64_t> ids;
      encode_piece(piece, ids);
      if (cache_.size() > 1'000'000) cache_.clear();
      it = cache_.emplace(std::string(piece), std::move(ids)).first;
    }
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

std::string Tokenizer::decode(const std::int64_t* ids, std::size_t count) const {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t id = ids[i];
    if (id < 0 || id >= vocab_size() || (token_bytes_[id].empty()))
      throw std::out_of_range("token id " + std::to_string(id) + " at position " +
                              std::to_string(i) + " is not in the vocabulary of " +
                              directory_.string());
    out += token_bytes_[id];
  }
  return out;
}

}  // namespace panoramia::gpt2
