#pragma once
// The `loss-vector` attack: a small MLP over the featurizer's output (for text, the side model's
// T-1 per-token losses and their mean), standardised with the training statistics, trained with
// Adam on binary cross-entropy, the epoch with the best validation metric kept (seeded stratified
// hold-out). Cheap enough for CPU audits.

#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <panoramia/interfaces.hpp>

namespace panoramia::text_attacks {

class LossVectorAttack final : public Attack {
 public:
  static std::vector<OptionSpec> option_specs();
  void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) override;
  at::Tensor score(const AttackData& data, Context& ctx) override;

 private:
  at::Tensor prepare(const AttackData& data) const;

  torch::nn::Sequential net_{nullptr};
  at::Tensor mean_, std_;
  bool log_ = false;
};

}  // namespace panoramia::text_attacks
