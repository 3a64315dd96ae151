#pragma once
// The common shape of the score attacks: a raw score per sample (scores.hpp), turned into a member
// probability by a monotone map fitted on the attack-training set (attack-common's
// MonotoneCalibration on the raw score's rank among the training scores), so that the game, the
// bounds, the null check and the report treat them like any attack.

#include <memory>
#include <string>
#include <vector>

#include <panoramia/plugin.hpp>

#include "calibration.hpp"

namespace panoramia::attacks {

/// The `l2` option every score attack has (the calibration's ridge penalty).
OptionSpec calibration_option();

class ScoreAttack : public Attack {
 public:
  explicit ScoreAttack(std::string name) : name_(std::move(name)) {}
  void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) override;
  at::Tensor score(const AttackData& data, Context& ctx) override;

 protected:
  /// Keeps what scoring needs from the training set (e.g. RMIA's population); default nothing.
  virtual void prepare(const AttackData& train, const at::Tensor& is_member, Context& ctx);
  /// float64 [n], higher: more likely a member.
  virtual at::Tensor raw_score(const AttackData& data, Context& ctx) = 0;
  /// The side model's loss, float64 [n], checked.
  static at::Tensor side_loss(const AttackData& data);
  /// The reference models' losses, float64 [K-1, n]; an error naming this attack without any.
  at::Tensor reference_losses(const AttackData& data) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  MonotoneCalibration calibration_{MonotoneCalibration::Transform::kRank};
};

/// The factory of score attack `A`: its options are the calibration's `l2` and `A::options()`;
/// every `make_attack` a fresh `A`.
template <class A>
class ScoreAttackFactory final : public PluginFactory {
 public:
  std::vector<OptionSpec> options(Kind) const override {
    std::vector<OptionSpec> specs{calibration_option()};
    for (auto& spec : A::options()) specs.push_back(std::move(spec));
    return specs;
  }
  std::unique_ptr<Attack> make_attack(Context&) override { return std::make_unique<A>(); }
};

}  // namespace panoramia::attacks
