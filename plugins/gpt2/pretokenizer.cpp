#include "pretokenizer.hpp"

#include <stdexcept>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace panoramia::gpt2 {
namespace {

constexpr const char* kPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

struct PreTokenizer::Pattern {
  pcre2_code* code = nullptr;
  ~Pattern() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer() : pattern_(std::make_unique<Pattern>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pattern_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (pattern_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw std::runtime_error("PCRE2 cannot compile the GPT-2 pre-tokenisation pattern at offset " +
                             std::to_string(offset) + ": " + reinterpret_cast<char*>(message));
  }
  // JIT is an optimisation only: without it (e.g. an architecture PCRE2 has no JIT for) matching
  // falls back to the interpreter.
  pcre2_jit_compile(pattern_->code, PCRE2_JIT_COMPLETE);
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

int utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  int length = 0;
  std::uint32_t min = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (int k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> out;
  std::size_t run = 0;  // start of the current run of valid UTF-8
  std::size_t i = 0;
  while (i < text.size()) {
    const int length = utf8_sequence_length(text, i);
    if (length > 0) {
      i += length;
      continue;
    }
    split_valid(text.substr(run, i - run), out);
    out.push_back(text.substr(i, 1));
    run = ++i;
  }
  split_valid(text.substr(run), out);
  return out;
}

void PreTokenizer::split_valid(std::string_view text, std::vector<std::string_view>& out) const {
  if (text.empty()) return;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(pattern_->code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(pattern_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                               match.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw std::runtime_error("PCRE2 failed to match at byte " + std::to_string(start) + ": " +
                               reinterpret_cast<char*>(message));
    }
    const PCRE2_SIZE* span = pcre2_get_ovector_pointer(match.get());
    // Every character matches one of the alternatives, so there are never gaps; should one appear
    // it is kept as a piece of its own rather than dropped.
    if (span[0] > start) out.push_back(text.substr(start, span[0] - start));
    if (span[1] == span[0]) throw std::logic_error("the pre-tokenisation pattern matched nothing");
    out.push_back(text.substr(span[0], span[1] - span[0]));
    start = span[1];
  }
  if (start < text.size()) out.push_back(text.substr(start));
}

}  // namespace panoramia::gpt2
