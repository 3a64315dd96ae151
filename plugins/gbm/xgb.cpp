#include "xgb.hpp"

#include <cmath>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>
#include <xgboost/c_api.h>

namespace panoramia::gbm {
namespace {

void check(int rc, const char* what) {
  if (rc != 0)
    throw std::runtime_error(std::string("XGBoost ") + what + " failed: " + XGBGetLastError());
}

void quiet_once() {
  static std::once_flag flag;
  std::call_once(flag, [] { check(XGBSetGlobalConfig(R"({"verbosity": 0})"), "configuration"); });
}

std::string number(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

}  // namespace

DMatrix::DMatrix(const torch::Tensor& x, const torch::Tensor& labels) {
  quiet_once();
  if (x.dim() != 2) throw std::invalid_argument("XGBoost features must be a [n, d] matrix");
  const auto data = x.to(torch::kFloat32).contiguous();
  rows_ = data.size(0);
  columns_ = data.size(1);
  DMatrixHandle h = nullptr;
  check(XGDMatrixCreateFromMat(data.data_ptr<float>(), static_cast<bst_ulong>(rows_),
                               static_cast<bst_ulong>(columns_), std::nanf(""), &h),
        "matrix creation");
  handle_ = h;
  if (labels.defined()) {
    const auto y = labels.to(torch::kFloat32).contiguous();
    if (y.numel() != rows_) {
      XGDMatrixFree(handle_);
      throw std::invalid_argument("XGBoost labels are not aligned with the features");
    }
    check(
        XGDMatrixSetFloatInfo(handle_, "label", y.data_ptr<float>(), static_cast<bst_ulong>(rows_)),
        "setting labels");
  }
}

DMatrix::~DMatrix() {
  if (handle_) XGDMatrixFree(handle_);
}

std::string BoosterParams::describe() const {
  std::ostringstream out;
  out << "max_depth " << max_depth << ", max_leaves " << max_leaves << ", trees " << rounds
      << ", learning_rate " << learning_rate << ", min_child_weight " << min_child_weight
      << ", scale_pos_weight " << scale_pos_weight;
  return out.str();
}

Booster::Booster(const BoosterParams& p, const DMatrix& train) : features_(train.columns()) {
  if (p.rounds <= 0) throw std::invalid_argument("the number of trees must be positive");
  DMatrixHandle dmats[] = {train.handle()};
  BoosterHandle h = nullptr;
  check(XGBoosterCreate(dmats, 1, &h), "booster creation");
  handle_ = h;
  const std::pair<const char*, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"grow_policy", "lossguide"},
      {"max_depth", std::to_string(p.max_depth)},
      {"max_leaves", std::to_string(p.max_leaves)},
      {"eta", number(p.learning_rate)},
      {"min_child_weight", number(p.min_child_weight)},
      {"scale_pos_weight", number(p.scale_pos_weight)},
      {"seed", std::to_string(p.seed & 0x7fffffff)},
      {"nthread", std::to_string(std::max(1, p.threads))},
      {"verbosity", "0"}};
  for (const auto& [key, value] : params)
    check(XGBoosterSetParam(handle_, key, value.c_str()), "setting a parameter");
  for (int i = 0; i < p.rounds; ++i)
    check(XGBoosterUpdateOneIter(handle_, i, train.handle()), "training");
}

Booster::~Booster() {
  if (handle_) XGBoosterFree(handle_);
}

torch::Tensor Booster::predict(const DMatrix& data) const {
  if (data.columns() != features_)
    throw std::invalid_argument("the booster was trained on " + std::to_string(features_) +
                                " features but is given " + std::to_string(data.columns()));
  const char* config =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(handle_, data.handle(), config, &shape, &dim, &result),
        "prediction");
  std::int64_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= static_cast<std::int64_t>(shape[i]);
  if (n != data.rows()) throw std::runtime_error("XGBoost returned an unexpected prediction shape");
  return torch::from_blob(const_cast<float*>(result), {n}, torch::kFloat32).clone();
}

}  // namespace panoramia::gbm
