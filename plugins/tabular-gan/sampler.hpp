#pragma once
// CTGAN's conditional vectors and training-by-sampling. A condition picks one categorical column
// uniformly and one of its categories (by log-frequency in training, so rare categories are seen;
// by frequency when generating, so the marginals follow the data), and training draws the real rows
// that match each condition.

#include <vector>

#include <torch/types.h>

#include "transformer.hpp"

namespace panoramia::tabular_gan {

struct Conditions {
  torch::Tensor cond;             // float32 [B, cond_dim], one-hot of the chosen category
  torch::Tensor mask;             // float32 [B, discrete columns], one-hot of the chosen column
  std::vector<int64_t> column;    // index into DataTransformer::discrete()
  std::vector<int64_t> category;  // category code within that column
};

class ConditionalSampler {
 public:
  /// `codes`: int64 [n, columns] category codes of the training rows (continuous columns ignored).
  ConditionalSampler(const DataTransformer& transformer, const torch::Tensor& raw);
  /// A sampler for generation only, from the category counts of each discrete column
  /// (`matching_rows` is then unavailable).
  ConditionalSampler(const DataTransformer& transformer, std::vector<std::vector<double>> counts);

  /// Training count of each category, per discrete column.
  std::vector<std::vector<double>> counts() const;

  bool empty() const { return discrete_.empty(); }
  /// Conditions for training (`log_frequency`) or for generation (plain frequency).
  Conditions sample(int64_t batch, bool log_frequency, at::Generator& generator) const;
  /// For each condition, the index of a random training row that satisfies it.
  torch::Tensor matching_rows(const Conditions& c, at::Generator& generator) const;

 private:
  std::vector<DiscreteColumn> discrete_;
  int64_t cond_dim_ = 0;
  // Per discrete column: cumulative (log-)frequencies of its categories.
  std::vector<std::vector<double>> cdf_, log_cdf_;
  std::vector<std::vector<std::vector<int64_t>>> rows_;  // [column][category] -> row indices

  void set_counts(const std::vector<std::vector<double>>& counts);
};

}  // namespace panoramia::tabular_gan
