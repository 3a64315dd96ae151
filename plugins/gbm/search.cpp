#include "search.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::gbm {
namespace {

int draw_index(const std::vector<double>& weights, std::mt19937_64& rng) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double u = uniform01(rng) * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (u < weights[i]) return static_cast<int>(i);
    u -= weights[i];
  }
  return static_cast<int>(weights.size()) - 1;
}

// Smoothed frequencies of each value of dimension `d` among `trials`.
std::vector<double> density(const std::vector<const Trial*>& trials, size_t d, size_t k,
                            double prior_weight) {
  std::vector<double> p(k, prior_weight / double(k));
  for (const Trial* t : trials) p[t->point[d]] += 1.0;
  const double total = double(trials.size()) + prior_weight;
  for (auto& v : p) v /= total;
  return p;
}

}  // namespace

double uniform01(std::mt19937_64& rng) {
  return double(rng() >> 11) * 0x1.0p-53;
}

Point random_point(const std::vector<Dimension>& space, std::mt19937_64& rng) {
  Point p;
  for (const auto& d : space) {
    if (d.values.empty()) throw std::invalid_argument("search dimension '" + d.name + "' is empty");
    p.push_back(static_cast<int>(uniform01(rng) * double(d.values.size())));
  }
  return p;
}

Point tpe_point(const std::vector<Dimension>& space, const std::vector<Trial>& trials,
                const TpeOptions& o, std::mt19937_64& rng) {
  if (static_cast<int>(trials.size()) < std::max(1, o.startup)) return random_point(space, rng);
  std::vector<const Trial*> sorted;
  for (const auto& t : trials) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Trial* a, const Trial* b) { return a->loss < b->loss; });
  const auto n = static_cast<double>(sorted.size());
  const size_t n_below = std::min<size_t>(
      std::max<size_t>(1, static_cast<size_t>(std::ceil(o.gamma * std::sqrt(n)))), 25);
  const std::vector<const Trial*> below(sorted.begin(), sorted.begin() + n_below);
  const std::vector<const Trial*> above(sorted.begin() + n_below, sorted.end());
  std::vector<std::vector<double>> l, g;
  for (size_t d = 0; d < space.size(); ++d) {
    l.push_back(density(below, d, space[d].values.size(), o.prior_weight));
    g.push_back(density(above, d, space[d].values.size(), o.prior_weight));
  }
  Point best;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < std::max(1, o.candidates); ++c) {
    Point p;
    double score = 0;
    for (size_t d = 0; d < space.size(); ++d) {
      const int i = draw_index(l[d], rng);
      p.push_back(i);
      score += std::log(l[d][i]) - std::log(g[d][i]);
    }
    if (score > best_score) {
      best_score = score;
      best = p;
    }
  }
  return best;
}

std::vector<int> stratified_folds(const torch::Tensor& labels, int k, std::mt19937_64& rng) {
  if (k < 2) throw std::invalid_argument("cross-validation needs at least 2 folds");
  const auto y = labels.to(torch::kFloat32).contiguous();
  const auto* v = y.data_ptr<float>();
  const int64_t n = y.numel();
  std::vector<int> fold(n, 0);
  for (const float cls : {0.0f, 1.0f}) {
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < n; ++i)
      if ((v[i] > 0.5f) == (cls > 0.5f)) idx.push_back(i);
    if (static_cast<int64_t>(idx.size()) < k)
      throw std::invalid_argument("each class needs at least " + std::to_string(k) +
                                  " samples for " + std::to_string(k) + "-fold cross-validation");
    for (int64_t i = static_cast<int64_t>(idx.size()) - 1; i > 0; --i)
      std::swap(idx[i], idx[static_cast<int64_t>(uniform01(rng) * double(i + 1))]);
    for (size_t i = 0; i < idx.size(); ++i) fold[idx[i]] = static_cast<int>(i % k);
  }
  return fold;
}

double roc_auc(const torch::Tensor& scores, const torch::Tensor& labels) {
  const auto s = scores.to(torch::kFloat64).contiguous();
  const auto y = labels.to(torch::kFloat64).contiguous();
  const int64_t n = s.numel();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const double* sv = s.data_ptr<double>();
  const double* yv = y.data_ptr<double>();
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sv[a] < sv[b]; });
  double rank_sum = 0, positives = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && sv[order[j]] == sv[order[i]]) ++j;
    const double mid_rank = 0.5 * double(i + j - 1) + 1.0;  // average 1-based rank of the tie
    for (int64_t t = i; t < j; ++t)
      if (yv[order[t]] > 0.5) {
        rank_sum += mid_rank;
        positives += 1;
      }
    i = j;
  }
  const double negatives = double(n) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double metric_loss(Metric metric, const torch::Tensor& p, const torch::Tensor& y) {
  const auto pd = p.to(torch::kFloat64);
  const auto yd = y.to(torch::kFloat64);
  switch (metric) {
    case Metric::kAccuracy:
      return 1.0 - ((pd > 0.5).to(torch::kFloat64) == yd).to(torch::kFloat64).mean().item<double>();
    case Metric::kAuc:
      return 1.0 - roc_auc(pd, yd);
    case Metric::kLogLoss: {
      const auto q = pd.clamp(1e-15, 1 - 1e-15);
      return -(yd * q.log() + (1 - yd) * (1 - q).log()).mean().item<double>();
    }
  }
  return 0;
}

}  // namespace panoramia::gbm
