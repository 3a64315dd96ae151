#pragma once
// A one-dimensional Gaussian mixture fitted by expectation-maximisation, pruning components whose
// weight falls below a threshold (CTGAN keeps the modes of a variational mixture above 0.005; plain
// EM with pruning finds the same kind of modes without the Dirichlet-process prior).

#include <vector>

#include <torch/types.h>

namespace panoramia::tabular_gan {

struct GmmOptions {
  int components = 10;  // at most this many modes (fewer when the data has fewer distinct values)
  int max_iterations = 200;
  double tolerance = 1e-6;  // stop when the mean log-likelihood improves by less
  double prune_weight = 0.005;
};

struct Gmm1d {
  std::vector<double> weights;
  std::vector<double> means;
  std::vector<double> stds;
  int iterations = 0;

  int size() const { return static_cast<int>(means.size()); }
  /// Posterior probability of each component, float64 [n, K].
  torch::Tensor posterior(const torch::Tensor& x) const;
  /// Mean log-likelihood of x under the mixture.
  double log_likelihood(const torch::Tensor& x) const;
};

/// Fits the mixture to the values `x` (any shape, flattened). Initial means are quantiles of the
/// distinct values, so the fit is deterministic. Throws std::invalid_argument for no values.
Gmm1d fit_gmm(const torch::Tensor& x, const GmmOptions& options);

}  // namespace panoramia::tabular_gan
