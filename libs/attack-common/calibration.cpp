#include "calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::attacks {
namespace {

constexpr int kNewtonSteps = 100;

}  // namespace

void MonotoneCalibration::fit(const at::Tensor& raw, const at::Tensor& is_member, double l2) {
  const auto x = raw.reshape({-1}).to(torch::kFloat64);
  const auto y = is_member.reshape({-1}).to(torch::kFloat64);
  if (x.size(0) != y.size(0) || x.size(0) == 0)
    throw std::invalid_argument("the attack's scores and membership labels are not aligned");
  if (!torch::isfinite(x).all().item<bool>())
    throw std::invalid_argument("the attack computed a non-finite score on its training set");
  if (transform_ == Transform::kRank) sorted_ = std::get<0>(torch::sort(x));
  const auto t = transform(x);
  mean_ = t.mean().item<double>();
  scale_ = t.size(0) > 1 ? std::max(1e-12, t.std().item<double>()) : 1.0;
  const auto z = (t - mean_) / scale_;
  double a = 0, b = 0;
  for (int step = 0; step < kNewtonSteps; ++step) {
    const auto p = torch::sigmoid(a + b * z);
    const auto w = p * (1 - p);
    const double ga = (p - y).sum().item<double>();
    const double gb = ((p - y) * z).sum().item<double>() + l2 * b;
    const double haa = w.sum().item<double>() + 1e-12;
    const double hab = (w * z).sum().item<double>();
    const double hbb = (w * z * z).sum().item<double>() + l2 + 1e-12;
    const double det = haa * hbb - hab * hab;
    if (std::abs(det) < 1e-18) break;
    const double da = (hbb * ga - hab * gb) / det;
    const double db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (std::abs(da) + std::abs(db) < 1e-12) break;
  }
  a_ = a;
  b_ = std::max(b, 0.0);
}

at::Tensor MonotoneCalibration::transform(const at::Tensor& raw) const {
  const auto x = raw.reshape({-1}).to(torch::kFloat64);
  if (transform_ == Transform::kIdentity) return x;
  if (!sorted_.defined()) throw std::logic_error("the calibration is used before it is fitted");
  const std::int64_t n = sorted_.size(0);
  if (n < 2) return torch::full_like(x, 0.5);
  // Between training scores x_i <= s < x_{i+1}: (i + (s - x_i) / (x_{i+1} - x_i)) / (n - 1),
  // clamped to [0, 1] outside them; a run of equal training scores maps to its first position.
  const auto i =
      (torch::searchsorted(sorted_, x, /*out_int32=*/false, /*right=*/true) - 1).clamp(0, n - 2);
  const auto low = sorted_.index({i});
  const auto high = sorted_.index({i + 1});
  const auto gap = high - low;
  const auto frac =
      torch::where(gap > 0, (x - low) / gap.clamp_min(1e-300), torch::zeros_like(x)).clamp(0, 1);
  return (i.to(torch::kFloat64) + frac) / static_cast<double>(n - 1);
}

at::Tensor MonotoneCalibration::operator()(const at::Tensor& raw) const {
  const auto z = (transform(raw) - mean_) / scale_;
  // A non-finite raw score (e.g. an infinite ratio) maps to the end it points at.
  return torch::sigmoid(a_ + b_ * z.nan_to_num(0.0)).to(torch::kFloat32);
}

}  // namespace panoramia::attacks
