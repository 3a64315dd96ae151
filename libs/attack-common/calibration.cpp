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
  mean_ = x.mean().item<double>();
  scale_ = x.size(0) > 1 ? std::max(1e-12, x.std().item<double>()) : 1.0;
  const auto z = (x - mean_) / scale_;
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

at::Tensor MonotoneCalibration::operator()(const at::Tensor& raw) const {
  const auto z = (raw.reshape({-1}).to(torch::kFloat64) - mean_) / scale_;
  // A non-finite raw score (e.g. an infinite ratio) maps to the end it points at.
  return torch::sigmoid(a_ + b_ * z.nan_to_num(0.0)).to(torch::kFloat32);
}

}  // namespace panoramia::attacks
