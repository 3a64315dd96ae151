#include "model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

namespace panoramia::gpt2 {

Gpt2Config Gpt2Config::preset(const std::string& name) {
  Gpt2Config c;
  if (name == "gpt2") return c;
  if (name == "tiny") {
    c.layers = 2;
    c.heads = 2;
    c.width = 64;
    c.context = 128;
    return c;
  }
  throw std::invalid_argument("unknown GPT-2 preset '" + name + "' (gpt2, tiny)");
}

void Gpt2Config::validate() const {
  const auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("invalid GPT-2 configuration: " + what);
  };
  // Upper limits far above any GPT-2 (XL: 48 layers, width 1600, 1024 positions, 50257 tokens),
  // so that a corrupt configuration is an error before anything is allocated.
  need(layers > 0 && layers <= 1024, "layers must lie in [1, 1024], got " + std::to_string(layers));
  need(heads > 0 && heads <= 1024, "heads must lie in [1, 1024], got " + std::to_string(heads));
  need(width <= 65536, "width must be at most 65536, got " + std::to_string(width));
  need(context <= (1 << 20), "context must be at most 1048576, got " + std::to_string(context));
  need(vocab <= (1 << 24), "vocab must be at most 16777216, got " + std::to_string(vocab));
  need(width > 0 && width % heads == 0, "width (" + std::to_string(width) +
                                            ") must be a positive multiple of heads (" +
                                            std::to_string(heads) + ")");
  need(context > 0, "context must be positive");
  need(vocab > 0, "vocab must be positive");
  need(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
}

at::Tensor dropout(torch::nn::Dropout& layer, const at::Tensor& x) {
  return scoped_dropout(x, layer->options.p(), layer->is_training());
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const Gpt2Config& c) : heads_(c.heads) {
  c_attn = register_module("c_attn", torch::nn::Linear(c.width, 3 * c.width));
  c_proj = register_module("c_proj", torch::nn::Linear(c.width, c.width));
  attn_dropout = register_module("attn_dropout", torch::nn::Dropout(c.dropout));
  resid_dropout = register_module("resid_dropout", torch::nn::Dropout(c.dropout));
}

at::Tensor CausalSelfAttentionImpl::forward(const at::Tensor& x, at::Tensor* cache_keys,
                                            at::Tensor* cache_values) {
  const auto b = x.size(0), t = x.size(1), c = x.size(2);
  const auto d = c / heads_;
  auto qkv = c_attn(x).split(c, 2);
  const auto heads = [&](const at::Tensor& y) { return y.view({b, t, heads_, d}).transpose(1, 2); };
  auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  std::int64_t past = 0;
  if (cache_keys != nullptr) {
    if (cache_keys->defined()) {
      past = cache_keys->size(2);
      k = torch::cat({*cache_keys, k}, 2);
      v = torch::cat({*cache_values, v}, 2);
    }
    *cache_keys = k;
    *cache_values = v;
  }
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(d)));
  if (t > 1) {  // a single new token may attend to every cached position
    // Query i sits at position past + i and sees keys 0 .. past + i.
    const auto mask = torch::ones({t, past + t}, x.options().dtype(torch::kBool)).tril(past);
    att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  }
  att = dropout(attn_dropout, torch::softmax(att, -1));
  auto y = torch::matmul(att, v).transpose(1, 2).contiguous().view({b, t, c});
  return dropout(resid_dropout, c_proj(y));
}

FeedForwardImpl::FeedForwardImpl(const Gpt2Config& c) {
  c_fc = register_module("c_fc", torch::nn::Linear(c.width, 4 * c.width));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * c.width, c.width));
  dropout = register_module("dropout", torch::nn::Dropout(c.dropout));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  return gpt2::dropout(dropout, c_proj(torch::gelu(c_fc(x), "tanh")));
}

BlockImpl::BlockImpl(const Gpt2Config& c) {
  const auto norm = torch::nn::LayerNormOptions({c.width}).eps(c.layer_norm_eps);
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(norm));
  attn = register_module("attn", CausalSelfAttention(c));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(norm));
  mlp = register_module("mlp", FeedForward(c));
}

at::Tensor BlockImpl::forward(const at::Tensor& x, at::Tensor* cache_keys,
                              at::Tensor* cache_values) {
  auto y = x + attn(ln_1(x), cache_keys, cache_values);
  return y + mlp(ln_2(y));
}

Gpt2Impl::Gpt2Impl(const Gpt2Config& config) : config_(config) {
  config_.validate();
  wte = register_module("wte", torch::nn::Embedding(config.vocab, config.width));
  wpe = register_module("wpe", torch::nn::Embedding(config.context, config.width));
  drop = register_module("drop", torch::nn::Dropout(config.dropout));
  h = register_module("h", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.layers; ++i) h->push_back(Block(config));
  ln_f = register_module(
      "ln_f",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.width}).eps(config.layer_norm_eps)));
}

at::Tensor Gpt2Impl::hidden(const at::Tensor& ids, KvCache* cache) {
  TORCH_CHECK(ids.dim() == 2, "GPT-2 input ids must be [batch, T], got ", ids.sizes());
  const std::int64_t past = cache != nullptr ? cache->length() : 0;
  const std::int64_t t = ids.size(1);
  if (past + t > config_.context)
    throw std::invalid_argument("GPT-2 input of " + std::to_string(past + t) +
                                " positions exceeds the context length " +
                                std::to_string(config_.context));
  const auto positions = torch::arange(past, past + t, ids.options().dtype(torch::kInt64));
  auto x = dropout(drop, wte(ids) + wpe(positions).unsqueeze(0));
  if (cache != nullptr) {
    cache->keys.resize(h->size());
    cache->values.resize(h->size());
  }
  for (std::size_t i = 0; i < h->size(); ++i) {
    auto* block = h[i]->as<BlockImpl>();
    x = cache != nullptr ? block->forward(x, &cache->keys[i], &cache->values[i])
                         : block->forward(x);
  }
  return ln_f(x);
}

at::Tensor Gpt2Impl::logits(const at::Tensor& hidden) {
  return torch::linear(hidden, wte->weight);
}

void Gpt2Impl::init_weights(at::Generator generator) {
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * double(config_.layers));
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    const bool is_norm = name.find("ln_") != std::string::npos;
    if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      p.zero_();
    } else if (is_norm) {
      p.fill_(1.0);
    } else if (name.find("c_proj.weight") != std::string::npos) {
      p.normal_(0.0, residual_std, generator);
    } else {
      p.normal_(0.0, 0.02, generator);
    }
  }
}

at::Tensor token_losses(Gpt2& model, const at::Tensor& ids, std::int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  const auto device = model_device(model);
  std::vector<at::Tensor> out;
  for (std::int64_t start = 0; start < ids.size(0); start += batch_size) {
    const auto batch = ids.slice(0, start, std::min(ids.size(0), start + batch_size)).to(device);
    const auto logits = model->forward(batch.slice(1, 0, -1));
    const auto targets = batch.slice(1, 1);
    const auto loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(2)}), targets.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    out.push_back(loss.view({batch.size(0), -1}).to(torch::kCPU, torch::kFloat32));
  }
  if (out.empty()) return torch::zeros({0, std::max<std::int64_t>(ids.size(1) - 1, 0)});
  return torch::cat(out, 0);
}

at::Tensor lm_loss(Gpt2& model, const at::Tensor& ids) {
  const auto logits = model->forward(ids.slice(1, 0, -1));
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                              ids.slice(1, 1).reshape({-1}));
}

c10::Device model_device(const Gpt2& model) {
  return model->wte->weight.device();
}

}  // namespace panoramia::gpt2
