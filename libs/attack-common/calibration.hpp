#pragma once
// A monotone map from an attack's raw score to a member probability, fitted on the attack-training
// set: p = sigmoid(a + b * (t(s) - mean) / scale) with b >= 0 and t non-decreasing, so that a
// higher raw score is never a lower probability and any threshold on p is a threshold on the raw
// score. The fit is a one-dimensional logistic regression (ridge penalty `l2` on b) solved by
// Newton's method. t is either the identity (standardised) or the training scores' empirical
// distribution function, interpolated linearly between them (`kRank`): robust to the heavy tails
// of loss differences and ratios, where a few huge values would otherwise squeeze every other
// score into one probability.

#include <ATen/core/Tensor.h>

namespace panoramia::attacks {

class MonotoneCalibration {
 public:
  enum class Transform { kIdentity, kRank };

  explicit MonotoneCalibration(Transform transform = Transform::kIdentity)
      : transform_(transform) {}
  /// Fits on `raw` (any floating type, [n]; higher: more likely a member) against `is_member`
  /// ([n], 1 member, 0 not). If the data says that a higher raw score means less likely a member,
  /// the slope stays at 0 (every probability the same: no signal, which the bounds then show).
  void fit(const at::Tensor& raw, const at::Tensor& is_member, double l2);
  /// float32 [n] in [0, 1].
  at::Tensor operator()(const at::Tensor& raw) const;
  /// t(raw) as fitted, float64 [n]: the raw score, or its position in [0, 1] among the training
  /// scores (0 at or below the smallest, 1 at or above the largest).
  at::Tensor transform(const at::Tensor& raw) const;

  double intercept() const { return a_; }
  /// The slope per standard deviation of the transformed score (>= 0).
  double slope() const { return b_; }

 private:
  Transform transform_;
  at::Tensor sorted_;  // kRank: the training scores, ascending
  double mean_ = 0, scale_ = 1, a_ = 0, b_ = 0;
};

}  // namespace panoramia::attacks
