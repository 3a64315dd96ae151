#pragma once
// Model-selection helpers shared by the text attacks: ROC AUC (optionally partial, up to a false
// positive rate, McClish-standardised as scikit-learn's roc_auc_score(max_fpr=...)), accuracy, and
// a seeded split that keeps the member/non-member ratio, and copies of the parameters of the best
// model so far.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace panoramia::text_attacks {

/// Area under the ROC curve of `scores` for binary `labels` (1 = positive); with `max_fpr` < 1 the
/// standardised partial area 0.5 * (1 + (A - a_min) / (a_max - a_min)), a_min = max_fpr^2 / 2,
/// a_max = max_fpr. Tied scores form one ROC step. NaN when a class is absent.
double roc_auc(const at::Tensor& scores, const at::Tensor& labels, double max_fpr = 1.0);

/// Share of correct guesses with "positive" when score > 0.5.
double accuracy(const at::Tensor& scores, const at::Tensor& labels);

/// The selection metric `name` ("auc", "acc" or "loss") of probabilities `scores`; larger is
/// better (the loss is negated).
double selection_metric(const std::string& name, const at::Tensor& scores, const at::Tensor& labels,
                        double max_fpr);

/// Indices (train, validation): `fraction` of each class goes to validation, in a seeded order.
std::pair<at::Tensor, at::Tensor> stratified_split(const at::Tensor& labels, double fraction,
                                                   at::Generator generator);

/// Detached copies of a module's parameters, in `parameters()` order.
using State = std::vector<at::Tensor>;
State copy_params(const torch::nn::Module& module);
/// Writes `state` (from copy_params of the same module) back into the parameters.
void restore_params(torch::nn::Module& module, const State& state);

}  // namespace panoramia::text_attacks
