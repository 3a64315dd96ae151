#pragma once
// The `gbm` attack: gradient-boosted trees (XGBoost) on the featurizer's output, tuned by a
// random or TPE search scored by stratified k-fold cross-validation, then refitted on all the
// attack-training data. The PANORAMIA reference tuned LightGBM the same way (TPE, 200 points,
// 3-fold accuracy) over depth, leaves, trees, learning rate and class weight.

#include <memory>
#include <vector>

#include <panoramia/interfaces.hpp>

#include "search.hpp"
#include "xgb.hpp"

namespace panoramia::gbm {

/// The options of the attack (name, type, default, help).
std::vector<OptionSpec> gbm_options();

class GbmAttack final : public Attack {
 public:
  void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) override;
  at::Tensor score(const AttackData& data, Context& ctx) override;

  /// The parameters chosen by the last `fit` and their cross-validated loss.
  const BoosterParams& chosen() const { return chosen_; }
  double cv_loss() const { return cv_loss_; }

 private:
  std::unique_ptr<Booster> booster_;
  BoosterParams chosen_;
  double cv_loss_ = 0;
};

}  // namespace panoramia::gbm
