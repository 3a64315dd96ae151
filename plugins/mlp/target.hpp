#pragma once
// The `mlp` plugin's components: a fully connected classifier as target/helper model (the
// PANORAMIA reference's tabular network is the default: inputs -> 150 -> 100 -> 50 -> 10 -> 1,
// Adam 1e-3, batch 32, 100 epochs; it keeps the best-validation and the final state), and a small
// MLP attack on featurizer output. With `dp = true` the target trains with DP-SGD instead
// (dp_training.hpp) and save() also writes dp.json with the spent (epsilon, delta).

#include <panoramia/trained_target.hpp>

#include <optional>

#include "dp_training.hpp"
#include "encoder.hpp"
#include "network.hpp"

namespace panoramia::mlp {

std::vector<OptionSpec> target_options();
std::vector<OptionSpec> attack_options();

class MlpTarget final : public BestAndFinalTarget {
 public:
  void fit(const Batch& train, const Batch& validation, Context& ctx) override;
  SideSignals side_signals(const Batch& samples, const std::string& variant, Context& ctx) override;
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  void load(const std::filesystem::path& dir, Context& ctx) override;
  /// The accountant's report when the model was trained with DP-SGD (saved as dp.json).
  const std::optional<DpReport>& dp_report() const { return dp_; }

 private:
  InputEncoder encoder_;
  Mlp net_{nullptr};
  State best_, final_;
  std::optional<DpReport> dp_;
};

class MlpAttack final : public Attack {
 public:
  void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) override;
  at::Tensor score(const AttackData& data, Context& ctx) override;

 private:
  Mlp net_{nullptr};
  torch::Tensor mean_, std_;
};

}  // namespace panoramia::mlp
