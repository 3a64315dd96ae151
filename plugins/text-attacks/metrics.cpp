#include "metrics.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <torch/torch.h>

namespace panoramia::text_attacks {

double roc_auc(const at::Tensor& scores, const at::Tensor& labels, double max_fpr) {
  if (!(max_fpr > 0 && max_fpr <= 1)) throw std::invalid_argument("max_fpr must be in (0, 1]");
  const auto s = scores.to(torch::kFloat64).reshape({-1}).contiguous();
  const auto y = labels.to(torch::kFloat64).reshape({-1}).contiguous();
  const auto order = std::get<1>(s.sort(/*stable=*/true, 0, /*descending=*/true));
  const auto ss = s.index_select(0, order), yy = y.index_select(0, order);
  const double* sp = ss.data_ptr<double>();
  const double* yp = yy.data_ptr<double>();
  const auto n = ss.size(0);
  double pos = 0, neg = 0;
  for (std::int64_t i = 0; i < n; ++i) (yp[i] > 0.5 ? pos : neg) += 1;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  // Walk the ROC curve one group of tied scores at a time; integrate TPR over FPR up to max_fpr.
  double tp = 0, fp = 0, area = 0;
  for (std::int64_t i = 0; i < n;) {
    double dtp = 0, dfp = 0;
    std::int64_t j = i;
    for (; j < n && sp[j] == sp[i]; ++j) (yp[j] > 0.5 ? dtp : dfp) += 1;
    const double x0 = fp / neg, y0 = tp / pos, x1 = (fp + dfp) / neg, y1 = (tp + dtp) / pos;
    if (x0 < max_fpr && x1 > x0) {
      const double x_end = std::min(x1, max_fpr);
      const double y_end = y0 + (y1 - y0) * (x_end - x0) / (x1 - x0);
      area += (x_end - x0) * (y0 + y_end) / 2;
    }
    tp += dtp;
    fp += dfp;
    i = j;
  }
  if (max_fpr >= 1) return area;
  const double min_area = max_fpr * max_fpr / 2, max_area = max_fpr;
  return 0.5 * (1 + (area - min_area) / (max_area - min_area));
}

double accuracy(const at::Tensor& scores, const at::Tensor& labels) {
  const auto guess = scores.reshape({-1}) > 0.5;
  const auto truth = labels.reshape({-1}) > 0.5;
  return (guess == truth).to(torch::kFloat64).mean().item<double>();
}

double selection_metric(const std::string& name, const at::Tensor& scores, const at::Tensor& labels,
                        double max_fpr) {
  if (name == "auc") return roc_auc(scores, labels, max_fpr);
  if (name == "acc") return accuracy(scores, labels);
  if (name == "loss")
    return -torch::binary_cross_entropy(
                scores.to(torch::kFloat64).clamp(1e-7, 1 - 1e-7).reshape({-1}),
                labels.to(torch::kFloat64).reshape({-1}))
                .item<double>();
  throw std::invalid_argument("unknown selection metric '" + name + "' (auc, acc, loss)");
}

std::pair<at::Tensor, at::Tensor> stratified_split(const at::Tensor& labels, double fraction,
                                                   at::Generator generator) {
  if (!(fraction >= 0 && fraction < 1))
    throw std::invalid_argument("validation_fraction must be in [0, 1)");
  std::vector<at::Tensor> train, validation;
  const auto y = labels.reshape({-1}) > 0.5;
  for (const bool cls : {true, false}) {
    const auto idx = (y == cls).nonzero().reshape({-1});
    const auto shuffled =
        idx.index_select(0, torch::randperm(idx.size(0), generator, torch::kInt64));
    const auto n_val = static_cast<std::int64_t>(std::floor(fraction * double(idx.size(0))));
    validation.push_back(shuffled.slice(0, 0, n_val));
    train.push_back(shuffled.slice(0, n_val));
  }
  return {torch::cat(train), torch::cat(validation)};
}

State copy_params(const torch::nn::Module& module) {
  State state;
  for (const auto& p : module.parameters()) state.push_back(p.detach().clone());
  return state;
}

void restore_params(torch::nn::Module& module, const State& state) {
  torch::NoGradGuard no_grad;
  auto params = module.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(state[i]);
}

}  // namespace panoramia::text_attacks
