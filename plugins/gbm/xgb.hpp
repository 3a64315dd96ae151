#pragma once
// A thin RAII layer over XGBoost's C API: a dense matrix, and a binary-logistic booster trained for
// a fixed number of rounds. Every failing call throws std::runtime_error with XGBoost's message.

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace panoramia::gbm {

/// A dense float32 feature matrix [n, d] with optional 0/1 labels [n].
class DMatrix {
 public:
  explicit DMatrix(const torch::Tensor& x, const torch::Tensor& labels = {});
  ~DMatrix();
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  void* handle() const { return handle_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t columns() const { return columns_; }

 private:
  void* handle_ = nullptr;
  std::int64_t rows_ = 0;
  std::int64_t columns_ = 0;
};

struct BoosterParams {
  int max_depth = 3;
  int max_leaves = 31;
  int rounds = 100;
  double learning_rate = 0.1;
  double min_child_weight = 1;
  double scale_pos_weight = 1;
  std::uint64_t seed = 0;
  int threads = 1;

  std::string describe() const;
};

/// Gradient-boosted trees (hist, leaf-wise growth bounded by depth and leaves, as LightGBM grows
/// them) with a logistic objective.
class Booster {
 public:
  Booster(const BoosterParams& params, const DMatrix& train);
  ~Booster();
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  /// float32 [n]: the probability of label 1.
  torch::Tensor predict(const DMatrix& data) const;
  /// Number of features the booster was trained on.
  std::int64_t features() const { return features_; }

 private:
  void* handle_ = nullptr;
  std::int64_t features_ = 0;
};

}  // namespace panoramia::gbm
