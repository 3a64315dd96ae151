#pragma once
// GPT-2's pre-tokenisation: the text is cut into pieces by the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with Unicode letter/number/space classes (PCRE2 in UTF + UCP mode), and BPE runs inside each
// piece. Bytes that are not valid UTF-8 become one-byte pieces of their own, so that any byte
// string is cut into pieces whose concatenation is the input.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace panoramia::gpt2 {

class PreTokenizer {
 public:
  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  /// The pieces of `text`, in order; their concatenation is `text`. Thread-compatible (const calls
  /// may run concurrently: each call uses its own match data).
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  void split_valid(std::string_view text, std::vector<std::string_view>& out) const;

  struct Pattern;
  std::unique_ptr<Pattern> pattern_;
};

/// Length of the valid UTF-8 sequence starting at `text[i]` (1-4), or 0 when the byte there does
/// not start one (stray continuation byte, overlong form, surrogate, above U+10FFFF, truncated).
int utf8_sequence_length(std::string_view text, std::size_t i);

}  // namespace panoramia::gpt2
