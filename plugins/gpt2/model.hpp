#pragma once
// GPT-2 (Radford et al. 2019) in the LibTorch C++ frontend: learned token and position embeddings,
// pre-LayerNorm transformer blocks (causal multi-head self-attention, GELU-tanh MLP of width 4C),
// a final LayerNorm and an output layer tied to the token embedding. Parameter names follow Hugging
// Face's GPT2Model ("h.0.attn.c_attn.weight", ...), with LibTorch's [out, in] Linear layout.
// A key/value cache lets generation feed one new token per step.

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace panoramia::gpt2 {

/// The layer's dropout drawn by `scoped_dropout` (panoramia/data_parallel.hpp): LibTorch's own
/// dropout, or inside a DropoutScope naming this rank's rows the global batch's masks.
at::Tensor dropout(torch::nn::Dropout& layer, const at::Tensor& x);

struct Gpt2Config {
  std::int64_t layers = 12;
  std::int64_t heads = 12;
  std::int64_t width = 768;
  std::int64_t context = 1024;  // the number of learned positions
  std::int64_t vocab = 50257;
  double dropout = 0.1;  // embedding, attention and residual dropout
  double layer_norm_eps = 1e-5;

  /// "gpt2" (124M: 12 layers, 12 heads, width 768, 1024 positions) or "tiny" (2 layers, 2 heads,
  /// width 64, 128 positions); throws naming the preset otherwise. The vocabulary is GPT-2's.
  static Gpt2Config preset(const std::string& name);
  /// Throws naming the first inconsistent field (e.g. width not a multiple of heads).
  void validate() const;
};

/// Keys and values of the positions seen so far, per layer ([batch, heads, length, head width]).
struct KvCache {
  std::vector<at::Tensor> keys;
  std::vector<at::Tensor> values;
  std::int64_t length() const { return keys.empty() ? 0 : keys.front().size(2); }
};

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const Gpt2Config& config);
  /// `cache_keys`/`cache_values`: when not null, the past positions (appended to in place).
  at::Tensor forward(const at::Tensor& x, at::Tensor* cache_keys = nullptr,
                     at::Tensor* cache_values = nullptr);

  torch::nn::Linear c_attn{nullptr}, c_proj{nullptr};
  torch::nn::Dropout attn_dropout{nullptr}, resid_dropout{nullptr};

 private:
  std::int64_t heads_;
};
TORCH_MODULE(CausalSelfAttention);

class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(const Gpt2Config& config);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear c_fc{nullptr}, c_proj{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(FeedForward);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const Gpt2Config& config);
  at::Tensor forward(const at::Tensor& x, at::Tensor* cache_keys = nullptr,
                     at::Tensor* cache_values = nullptr);

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  CausalSelfAttention attn{nullptr};
  FeedForward mlp{nullptr};
};
TORCH_MODULE(Block);

class Gpt2Impl : public torch::nn::Module {
 public:
  explicit Gpt2Impl(const Gpt2Config& config);

  /// Final hidden states [batch, T, width] of token ids [batch, T] (int64). With `cache`, the ids
  /// continue the cached positions and the cache is extended; throws when the positions would pass
  /// the context length.
  at::Tensor hidden(const at::Tensor& ids, KvCache* cache = nullptr);
  /// Next-token logits [batch, T, vocab] from hidden states (the tied output layer).
  at::Tensor logits(const at::Tensor& hidden);
  at::Tensor forward(const at::Tensor& ids, KvCache* cache = nullptr) {
    return logits(hidden(ids, cache));
  }

  /// GPT-2's initialisation: N(0, 0.02) weights, N(0, 0.02/sqrt(2 layers)) residual projections,
  /// zero biases, unit LayerNorms; every draw from `generator`.
  void init_weights(at::Generator generator);

  const Gpt2Config& config() const { return config_; }

  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  torch::nn::Dropout drop{nullptr};
  torch::nn::ModuleList h{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};

 private:
  Gpt2Config config_;
};
TORCH_MODULE(Gpt2);

/// Per-token next-token cross-entropy losses [n, T-1] (float32) of blocks `ids` [n, T], in eval
/// mode without gradients, `batch_size` blocks at a time on the model's device.
at::Tensor token_losses(Gpt2& model, const at::Tensor& ids, std::int64_t batch_size);

/// Mean next-token loss of `ids` [batch, T] with gradients (the training objective).
at::Tensor lm_loss(Gpt2& model, const at::Tensor& ids);

/// The device the model's parameters are on.
c10::Device model_device(const Gpt2& model);

}  // namespace panoramia::gpt2
