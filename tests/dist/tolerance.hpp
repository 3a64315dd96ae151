#pragma once
// Bounds on how far two floating-point computations of the same quantity may legitimately differ
// (issue 13): the data-parallel probes derive their tolerances from these and from their own
// settings (learning rate, steps, batch, clipping norm), so that a tolerance follows from the
// arithmetic and not from the summation order one CPU's BLAS kernel happens to use.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include <ATen/ATen.h>

namespace panoramia::testing {

/// Unit roundoff: half the machine epsilon, 2^-24 for float32 and 2^-53 for float64.
inline constexpr double kUnit32 = 0x1p-24;
inline constexpr double kUnit64 = 0x1p-53;

/// Two evaluations of a sum of `n` terms, each in its own order (another blocking, another vector
/// width, FMA or not), are each within (n - 1)·u·Σ|x_i| of the exact sum to first order (Higham,
/// Accuracy and Stability of Numerical Algorithms, §4.2), so they differ by at most twice that.
inline double sum_order_bound(double n, double abs_sum, double unit = kUnit32) {
  return 2 * std::max(n - 1, 0.0) * unit * abs_sum;
}

/// The most one Adam step t (1-based) can move an element, in units of the learning rate, whatever
/// the gradients: |m̂_t| / (√v̂_t + ε) ≤ B_t, by Cauchy–Schwarz on the two exponential averages,
///   |m_t| ≤ (1-β1)/√(1-β2) · √(Σ_{k<t} (β1²/β2)^k) · √v_t,
/// times the bias corrections √(1-β2^t)/(1-β1^t). B_1 = 1 (the first step is lr·sign(g)); an L2
/// weight decay is part of the gradient and changes nothing.
inline double adam_step_bound(double beta1, double beta2, std::int64_t t) {
  double series = 0, power = 1;
  for (std::int64_t k = 0; k < t; ++k, power *= beta1 * beta1 / beta2) series += power;
  return (1 - beta1) / std::sqrt(1 - beta2) * std::sqrt(series) *
         std::sqrt(1 - std::pow(beta2, double(t))) / (1 - std::pow(beta1, double(t)));
}

/// How far two Adam runs of `steps` steps at learning rate ≤ `lr` can drift apart in one element
/// when its gradients differ arbitrarily between them: ≤ 2·lr·Σ_t B_t. This is what an element
/// whose gradient is zero up to rounding (its sign the summation order's) can legitimately differ
/// by; it is also about what any real bug moves the other elements by (a whole step, in some
/// direction), so it is only the tolerance of such rounding-noise elements.
inline double adam_drift_bound(double lr, double beta1, double beta2, std::int64_t steps) {
  double sum = 0;
  for (std::int64_t t = 1; t <= steps; ++t) sum += adam_step_bound(beta1, beta2, t);
  return 2 * lr * sum;
}

/// How far two Adam runs can drift apart in an element whose gradient is real (not rounding
/// noise) and whose two computations differ by a relative error ρ of its RMS: step t moves by
/// m̂/(√v̂ + ε), whose change under such a perturbation is ≤ (1 + B_t)·ρ (|δm̂| ≤ ρ·rms and
/// |δ√v̂| ≤ ρ·rms), so ≤ lr·Σ_t (1 + B_t)·ρ; plus one rounding of the weight per step,
/// 2·u·max|θ| (float32). Elements whose gradients are rounding noise need adam_drift_bound.
inline double adam_rounding_bound(double lr, double beta1, double beta2, std::int64_t steps,
                                  double rho, double max_abs_weight) {
  double sum = 0;
  for (std::int64_t t = 1; t <= steps; ++t) sum += 1 + adam_step_bound(beta1, beta2, t);
  return lr * sum * rho + double(steps) * 2 * kUnit32 * max_abs_weight;
}

/// How far two SGD runs (momentum μ, learning rate ≤ lr) can drift apart in an element whose
/// gradients, of magnitude ≤ G, are computed with relative rounding errors ≤ ρ in the two runs:
/// step t applies lr·Σ_{s≤t} μ^{t-s}·g_s, so the updates differ by ≤ lr·ρ·G·(1 - μ^t)/(1 - μ);
/// plus one rounding of the weight per step, 2·u·max|θ| (float32). First order: the weights'
/// differences feed back into later gradients only at the square of these sizes.
inline double sgd_rounding_bound(double lr, double momentum, std::int64_t steps, double rho,
                                 double gradient_scale, double max_abs_weight) {
  double sum = 0;
  for (std::int64_t t = 1; t <= steps; ++t)
    sum += (1 - std::pow(momentum, double(t))) / (1 - momentum);
  return lr * sum * rho * gradient_scale + double(steps) * 2 * kUnit32 * max_abs_weight;
}

/// `sgd_rounding_bound` of the trained parameter `p`, with the gradient scale taken as twice the
/// largest element of its last gradient (0 when it has none).
inline double sgd_parameter_bound(const at::Tensor& p, double lr, double momentum,
                                  std::int64_t steps, double rho) {
  const double gradient = p.grad().defined() ? 2 * p.grad().abs().max().item<double>() : 0.0;
  return sgd_rounding_bound(lr, momentum, steps, rho, gradient, p.abs().max().item<double>());
}

}  // namespace panoramia::testing
