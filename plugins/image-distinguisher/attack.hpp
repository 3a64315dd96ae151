#pragma once
// The image distinguisher attack (baseline and MIA alike): the CNN + feature-MLP network trained
// jointly on the attack-training rows, with a held-out stratified part of them for early stopping
// and model selection; scores are member probabilities.

#include <vector>

#include <panoramia/interfaces.hpp>

#include "augment.hpp"
#include "model_state.hpp"
#include "network.hpp"
#include "normalization.hpp"
#include "optimizer.hpp"

namespace panoramia::distinguisher {

/// Options of the attack, with the reference's image-module budget as defaults (ResNet-18-style
/// CNN, SGD 0.01 momentum 0.9, x0.1 every 10 epochs, at most 40 epochs, patience 5).
std::vector<OptionSpec> attack_options();

/// Area under the ROC curve of `scores` for binary `labels` (ties count one half).
double roc_auc(const at::Tensor& scores, const at::Tensor& labels);

class DistinguisherAttack final : public Attack {
 public:
  void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) override;
  at::Tensor score(const AttackData& data, Context& ctx) override;

  /// What model selection saw (for tests and logs).
  struct Selection {
    std::int64_t best_epoch = 0;
    std::int64_t epochs_run = 0;
    double best_value = 0;  // the selection metric on the held-out rows (loss: lower is better)
  };
  const Selection& selection() const { return selection_; }

 private:
  at::Tensor logits(const AttackData& data, Context& ctx);
  at::Tensor standardized(const AttackData& data) const;
  /// The network's shape from the options and the training data; keeps the features' mean and
  /// standard deviation when the feature branch is on.
  DistinguisherOptions network_options(const AttackData& train, Context& ctx);

  Distinguisher net_{nullptr};
  image::Normalization normalization_;
  at::Tensor feature_mean_, feature_std_;
  std::vector<std::int64_t> image_shape_;
  Selection selection_;
};

}  // namespace panoramia::distinguisher
