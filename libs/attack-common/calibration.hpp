#pragma once
// A monotone map from an attack's raw score to a member probability, fitted on the attack-training
// set: p = sigmoid(a + b * (s - mean) / scale) with b >= 0, so that a higher raw score is never a
// lower probability and any threshold on p is a threshold on the raw score. The fit is a
// one-dimensional logistic regression (ridge penalty `l2` on b) solved by Newton's method.

#include <ATen/core/Tensor.h>

namespace panoramia::attacks {

class MonotoneCalibration {
 public:
  /// Fits on `raw` (any floating type, [n]; higher: more likely a member) against `is_member`
  /// ([n], 1 member, 0 not). If the data says that a higher raw score means less likely a member,
  /// the slope stays at 0 (every probability the same: no signal, which the bounds then show).
  void fit(const at::Tensor& raw, const at::Tensor& is_member, double l2);
  /// float32 [n] in [0, 1].
  at::Tensor operator()(const at::Tensor& raw) const;

  double intercept() const { return a_; }
  /// The slope per standard deviation of the raw score (>= 0).
  double slope() const { return b_; }

 private:
  double mean_ = 0, scale_ = 1, a_ = 0, b_ = 0;
};

}  // namespace panoramia::attacks
