#include "generation.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::gpt2 {

at::Tensor sample_next(const at::Tensor& logits, const SamplingOptions& options,
                       const at::Tensor& uniform) {
  if (options.greedy) return logits.argmax(-1);
  if (!(options.temperature > 0))
    throw std::invalid_argument("the sampling temperature must be positive");
  auto scores = logits.to(torch::kFloat32) / options.temperature;
  const auto vocab = scores.size(-1);
  const float minus_inf = -std::numeric_limits<float>::infinity();
  if (options.top_k > 0 && options.top_k < vocab) {
    const auto kth = std::get<0>(scores.topk(options.top_k, -1)).slice(1, -1);
    scores = scores.masked_fill(scores < kth, minus_inf);
  }
  auto [sorted, order] = scores.sort(-1, /*descending=*/true);
  auto probs = torch::softmax(sorted, -1);
  if (options.top_p < 1.0) {
    // Keep the smallest prefix whose mass reaches top_p: drop a token when the mass before it does.
    const auto before = probs.cumsum(-1) - probs;
    probs = probs.masked_fill(before > options.top_p, 0.0);
    probs = probs / probs.sum(-1, true);
  }
  const auto cdf = probs.cumsum(-1);
  const auto u = (uniform.to(cdf.device(), torch::kFloat32).view({-1, 1}) * cdf.slice(1, -1));
  auto pick = torch::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true).clamp_max(vocab - 1);
  return order.gather(1, pick).view({-1});
}

at::Tensor generate(Gpt2& model, const at::Tensor& prompts, std::int64_t new_tokens,
                    const SamplingOptions& options, at::Generator generator) {
  torch::NoGradGuard no_grad;
  model->eval();
  if (prompts.dim() != 2 || prompts.size(1) == 0)
    throw std::invalid_argument("generation needs prompts of shape [batch, P] with P > 0");
  if (prompts.size(1) + new_tokens > model->config().context)
    throw std::invalid_argument("a prompt of " + std::to_string(prompts.size(1)) + " tokens plus " +
                                std::to_string(new_tokens) +
                                " new tokens exceeds the model's context of " +
                                std::to_string(model->config().context));
  const auto device = model_device(model);
  const auto batch = prompts.size(0);
  auto sequence = prompts.to(device, torch::kInt64);
  std::vector<at::Tensor> out;
  KvCache cache;
  at::Tensor next_input = sequence;
  for (std::int64_t step = 0; step < new_tokens; ++step) {
    at::Tensor logits;
    if (options.use_cache) {
      logits = model->forward(next_input, &cache).select(1, -1);
    } else {
      logits = model->forward(sequence).select(1, -1);
    }
    const auto uniform = torch::rand({batch}, generator, torch::kFloat32);
    const auto token = sample_next(logits, options, uniform).view({batch, 1});
    out.push_back(token);
    sequence = torch::cat({sequence, token}, 1);
    next_input = token;
  }
  if (out.empty()) return torch::zeros({batch, 0}, torch::kInt64);
  return torch::cat(out, 1).to(torch::kCPU);
}

}  // namespace panoramia::gpt2
