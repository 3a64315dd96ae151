#pragma once
// The GPT-2 of the unit tests: 2 layers, 2 heads, width 16, 32 positions, 50 tokens; and the
// tests' data directory (a small BPE vocabulary, merges and corpus).

#include <filesystem>

#include "model.hpp"

namespace panoramia::gpt2 {

inline const std::filesystem::path kData = GPT2_TEST_DATA;

inline Gpt2Config small_config(double dropout) {
  Gpt2Config c;
  c.layers = 2;
  c.heads = 2;
  c.width = 16;
  c.context = 32;
  c.vocab = 50;
  c.dropout = dropout;
  return c;
}

}  // namespace panoramia::gpt2
