#pragma once
// Hyper-parameter search over a discrete space: random sampling, or the tree-structured Parzen
// estimator (Bergstra et al. 2011) as hyperopt applies it to `hp.choice` dimensions, plus the
// cross-validation folds and metrics it is scored with. All draws come from the given engine.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <torch/types.h>

namespace panoramia::gbm {

/// One dimension: a name and its candidate values (the search works on indices into them).
struct Dimension {
  std::string name;
  std::vector<double> values;
};

using Point = std::vector<int>;

struct Trial {
  Point point;
  double loss = 0;  // lower is better
};

struct TpeOptions {
  int startup = 10;     // random points before the model is used
  int candidates = 24;  // draws from l(x) per step, the best l/g is proposed
  double gamma = 0.25;  // share of trials in the "good" group: ceil(gamma * sqrt(n))
  double prior_weight = 1.0;
};

/// A uniform random point.
Point random_point(const std::vector<Dimension>& space, std::mt19937_64& rng);

/// The next point TPE proposes given the finished trials (random during the startup phase).
Point tpe_point(const std::vector<Dimension>& space, const std::vector<Trial>& trials,
                const TpeOptions& options, std::mt19937_64& rng);

/// Fold index [n] in 0..k-1, stratified by the 0/1 labels and shuffled with `rng`.
std::vector<int> stratified_folds(const torch::Tensor& labels, int k, std::mt19937_64& rng);

enum class Metric { kAccuracy, kAuc, kLogLoss };
/// The metric of probabilities `p` for 0/1 labels `y`, as a loss to minimise (1 - accuracy,
/// 1 - AUC, log loss).
double metric_loss(Metric metric, const torch::Tensor& p, const torch::Tensor& y);
/// Area under the ROC curve, ties counted one half.
double roc_auc(const torch::Tensor& scores, const torch::Tensor& labels);

/// A uniform double in [0, 1) from 53 bits of `rng` (the same on every platform).
double uniform01(std::mt19937_64& rng);

}  // namespace panoramia::gbm
