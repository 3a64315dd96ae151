#pragma once
// CTGAN's data transformer. A continuous column becomes a scalar in [-1, 1] and a one-hot mode:
// a Gaussian mixture is fitted to the column, each value is assigned a mode drawn from its
// posterior, and the scalar is (x - mean) / (4 std) of that mode. A categorical column becomes a
// one-hot block. `inverse` decodes generator output (any activations) back to raw values and
// category codes.

#include <vector>

#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <panoramia/data.hpp>

#include "gmm.hpp"

namespace panoramia::tabular_gan {

/// One block of the encoded row, with the activation the generator applies to it.
struct Span {
  int64_t start = 0;
  int64_t width = 0;
  bool softmax = false;  // false: tanh scalar
};

/// A categorical column's place in the encoded row and in the condition vector.
struct DiscreteColumn {
  int64_t column = 0;  // index in the schema
  int64_t start = 0;   // offset of its one-hot block in the encoded row
  int64_t categories = 0;
  int64_t cond_start = 0;  // offset in the condition vector
};

class DataTransformer {
 public:
  /// Fits one mixture per continuous column; `train` must be a tabular batch.
  void fit(const Batch& train, const GmmOptions& gmm);
  /// float32 [n, output_dim()]; modes are drawn from the posterior with `generator`.
  torch::Tensor transform(const Batch& batch, at::Generator& generator) const;
  /// float64 [n, columns]: continuous values (clipped to the training range, rounded when the
  /// column held only integers) and category codes (argmax of each block).
  torch::Tensor inverse(const torch::Tensor& encoded) const;

  int64_t output_dim() const { return output_dim_; }
  int64_t cond_dim() const { return cond_dim_; }
  const std::vector<Span>& spans() const { return spans_; }
  const std::vector<DiscreteColumn>& discrete() const { return discrete_; }
  const std::vector<Gmm1d>& mixtures() const { return gmms_; }  // per column (empty if categorical)

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  void layout();

  std::vector<ColumnKind> kinds_;
  std::vector<int64_t> categories_;  // per column, 0 for continuous
  std::vector<Gmm1d> gmms_;
  std::vector<double> min_, max_;
  std::vector<char> integer_;
  std::vector<Span> spans_;
  std::vector<int64_t> column_start_;  // first span of each column in the encoded row
  std::vector<DiscreteColumn> discrete_;
  int64_t output_dim_ = 0;
  int64_t cond_dim_ = 0;
};

}  // namespace panoramia::tabular_gan
