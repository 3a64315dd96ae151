#include "loss_features.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::distinguisher {

at::Tensor loss_features(const Batch& samples, const SideSignals& side,
                         const LossFeatureOptions& options) {
  const std::int64_t n = samples.size();
  if (!side.loss.defined()) throw std::invalid_argument("the side model gave no per-sample loss");
  if (side.loss.numel() != n)
    throw std::invalid_argument("the side model gave " + std::to_string(side.loss.numel()) +
                                " losses for " + std::to_string(n) + " samples");
  const auto loss = side.loss.reshape({n, 1}).to(torch::kCPU, torch::kFloat32);
  std::vector<at::Tensor> parts{loss};
  // The loss can be exactly 0 for a memorised sample; the floor keeps log finite.
  if (options.log_loss) parts.push_back(torch::log(loss.clamp_min(1e-30)));
  if (options.logit_features && side.logits.defined() && side.logits.dim() == 2 &&
      side.logits.size(0) == n && side.logits.size(1) > 1 && samples.y.defined()) {
    const auto logits = side.logits.to(torch::kCPU, torch::kFloat32);
    const auto label = samples.y.to(torch::kCPU, torch::kInt64).reshape({n, 1});
    const auto own = logits.gather(1, label);
    const auto others = logits.scatter(1, label, -std::numeric_limits<float>::infinity());
    parts.push_back(own - std::get<0>(others.max(1, true)));
    const auto log_p = torch::log_softmax(logits, 1);
    parts.push_back(std::get<0>(log_p.max(1, true)).exp());
    parts.push_back(-(log_p.exp() * log_p).sum(1, true));
  }
  return torch::cat(parts, 1);
}

}  // namespace panoramia::distinguisher
