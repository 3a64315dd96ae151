#pragma once
// Model inputs from samples: tables become standardised continuous columns plus one-hot
// categoricals (the label column left out); anything else is flattened and standardised per
// feature. Fitted on the training data only.

#include <filesystem>

#include <torch/types.h>

#include <panoramia/data.hpp>

namespace panoramia::mlp {

class InputEncoder {
 public:
  void fit(const Batch& train, bool standardize);
  torch::Tensor encode(const Batch& batch) const;
  int64_t width() const { return width_; }
  bool fitted() const { return width_ > 0; }

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  torch::Tensor mean_, std_;  // per continuous input
  // Tabular layout: for each input column, -1 when continuous, else its number of categories.
  std::vector<int64_t> layout_;
  std::vector<int64_t> columns_;  // input column indices (tables: all but the label)
  bool tabular_ = false;
  int64_t width_ = 0;
};

}  // namespace panoramia::mlp
