#pragma once
// The GPT-2 of the unit tests: 2 layers, 2 heads, width 16, 32 positions, 50 tokens.

#include "model.hpp"

namespace panoramia::gpt2 {

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
