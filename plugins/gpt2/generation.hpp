#pragma once
// Autoregressive sampling from GPT-2: temperature, top-k and top-p (nucleus) filtering, or greedy
// decoding; with the key/value cache (one new token per step) or without it (the whole sequence
// recomputed every step, for comparison).

#include <cstdint>

#include <ATen/core/Generator.h>

#include "model.hpp"

namespace panoramia::gpt2 {

struct SamplingOptions {
  std::int64_t top_k = 200;  // 0: no top-k filter
  double top_p = 1.0;        // 1: no nucleus filter
  double temperature = 1.0;
  bool greedy = false;  // argmax instead of sampling
  bool use_cache = true;
};

/// Continues each row of `prompts` [batch, P] (int64) by `new_tokens` tokens and returns them
/// [batch, new_tokens] on the CPU. Runs in eval mode without gradients on the model's device; the
/// uniform draws come from `generator` (a CPU generator), so the tokens depend only on its state.
/// Throws when P + new_tokens exceeds the model's context.
at::Tensor generate(Gpt2& model, const at::Tensor& prompts, std::int64_t new_tokens,
                    const SamplingOptions& options, at::Generator generator);

/// Draws one token per row from next-token `logits` [batch, vocab] with `options`' filters;
/// `uniform` [batch] holds one U(0, 1) draw per row (inverse-CDF sampling, identical on every
/// device).
at::Tensor sample_next(const at::Tensor& logits, const SamplingOptions& options,
                       const at::Tensor& uniform);

}  // namespace panoramia::gpt2
