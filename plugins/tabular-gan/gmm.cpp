#include "gmm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::tabular_gan {
namespace {

constexpr double kLogTwoPi = 1.8378770664093453;

// log(w_k N(x | mu_k, var_k)), [n, K].
torch::Tensor weighted_log_density(const torch::Tensor& x, const torch::Tensor& w,
                                   const torch::Tensor& mu, const torch::Tensor& var) {
  const auto d = x.unsqueeze(1) - mu.unsqueeze(0);
  return w.log().unsqueeze(0) - 0.5 * (kLogTwoPi + var.log()).unsqueeze(0) -
         d * d / (2 * var.unsqueeze(0));
}

// Merges components whose means and standard deviations coincide (relative to the data's scale);
// returns whether any were merged.
bool merge_duplicates(torch::Tensor& w, torch::Tensor& mu, torch::Tensor& var, double scale) {
  const auto k = w.numel();
  std::vector<double> wv(w.data_ptr<double>(), w.data_ptr<double>() + k);
  const double* m = mu.data_ptr<double>();
  const double* v = var.data_ptr<double>();
  std::vector<int64_t> keep;
  bool merged = false;
  for (int64_t i = 0; i < k; ++i) {
    bool duplicate = false;
    for (const int64_t j : keep)
      if (std::abs(m[i] - m[j]) <= 1e-6 * scale &&
          std::abs(std::sqrt(v[i]) - std::sqrt(v[j])) <= 1e-3 * std::sqrt(v[j]) + 1e-6 * scale) {
        wv[j] += wv[i];
        duplicate = merged = true;
        break;
      }
    if (!duplicate) keep.push_back(i);
  }
  if (!merged) return false;
  const auto idx = torch::tensor(keep, torch::kInt64);
  w = torch::tensor(wv, torch::kFloat64).index_select(0, idx);
  mu = mu.index_select(0, idx);
  var = var.index_select(0, idx);
  return true;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

torch::Tensor Gmm1d::posterior(const torch::Tensor& x) const {
  const auto xd = x.reshape({-1}).to(torch::kFloat64);
  const auto w = torch::tensor(weights, torch::kFloat64);
  const auto mu = torch::tensor(means, torch::kFloat64);
  const auto sd = torch::tensor(stds, torch::kFloat64);
  const auto logp = weighted_log_density(xd, w, mu, sd * sd);
  return (logp - logp.logsumexp(1, true)).exp();
}

double Gmm1d::log_likelihood(const torch::Tensor& x) const {
  const auto xd = x.reshape({-1}).to(torch::kFloat64);
  const auto sd = torch::tensor(stds, torch::kFloat64);
  return weighted_log_density(xd, torch::tensor(weights, torch::kFloat64),
                              torch::tensor(means, torch::kFloat64), sd * sd)
      .logsumexp(1)
      .mean()
      .item<double>();
}

Gmm1d fit_gmm(const torch::Tensor& values, const GmmOptions& o) {
  const auto x = values.reshape({-1}).to(torch::kFloat64).contiguous();
  const int64_t n = x.numel();
  if (n == 0) throw std::invalid_argument("cannot fit a Gaussian mixture to no values");
  if (o.components < 1) throw std::invalid_argument("a Gaussian mixture needs a component");
  const double total_var = n > 1 ? x.var(0, false).item<double>() : 0.0;
  const double scale = std::sqrt(total_var) + 1e-12;
  const auto distinct = std::get<0>(at::_unique(x, /*sorted=*/true));
  const int64_t u = distinct.numel();
  // Variance floor: a component on a point mass (capital-gain = 0) keeps a standard deviation far
  // below the spacing of the data's values, so that decoding it gives the point back (a floor
  // relative to the column's variance would decode zeros as 0 +- a few dollars).
  const double gap = u > 1
                         ? (distinct.slice(0, 1) - distinct.slice(0, 0, u - 1)).min().item<double>()
                         : std::max(1.0, std::abs(distinct[0].item<double>()));
  const double floor = std::max(std::min(1e-6 * total_var, 1e-6 * gap * gap), 1e-24);

  // Initial means: quantiles of the distinct values. Quantiles of the values themselves would
  // all fall on a heavy point mass (Adult's capital-loss is 95% zeros) and leave one mode.
  std::vector<double> init;
  for (int k = 0; k < o.components; ++k) {
    const auto idx = static_cast<int64_t>((double(k) + 0.5) / o.components * double(u));
    const double q = distinct[std::min(idx, u - 1)].item<double>();
    if (init.empty() || q != init.back()) init.push_back(q);
  }
  const auto k0 = static_cast<int64_t>(init.size());
  auto mu = torch::tensor(init, torch::kFloat64);
  auto var = torch::full({k0}, std::max(total_var, floor), torch::kFloat64);
  auto w = torch::full({k0}, 1.0 / double(k0), torch::kFloat64);

  Gmm1d out;
  double previous = -std::numeric_limits<double>::infinity();
  for (int it = 1; it <= o.max_iterations; ++it) {
    out.iterations = it;
    // E-step.
    const auto logp = weighted_log_density(x, w, mu, var);
    const auto norm = logp.logsumexp(1, true);
    const double ll = norm.mean().item<double>();
    const auto resp = (logp - norm).exp();
    // M-step.
    const auto nk = resp.sum(0) + 1e-300;
    w = nk / double(n);
    mu = (resp * x.unsqueeze(1)).sum(0) / nk;
    const auto d = x.unsqueeze(1) - mu.unsqueeze(0);
    var = (resp * d * d).sum(0) / nk + floor;
    // Merge components that collapsed onto the same point (two modes on one point mass would
    // otherwise split it forever), then prune small ones (keeping at least the heaviest) and
    // renormalise.
    if (merge_duplicates(w, mu, var, scale)) {
      previous = -std::numeric_limits<double>::infinity();
      continue;
    }
    const auto keep = w >= o.prune_weight;
    if (keep.sum().item<int64_t>() == 0) {
      const auto top = w.argmax();
      mu = mu.index({top}).reshape({1});
      var = var.index({top}).reshape({1});
      w = torch::ones({1}, torch::kFloat64);
    } else if (keep.sum().item<int64_t>() < w.numel()) {
      mu = mu.index({keep});
      var = var.index({keep});
      w = w.index({keep});
      w = w / w.sum();
      previous = -std::numeric_limits<double>::infinity();  // the objective changed
      continue;
    }
    if (std::abs(ll - previous) < o.tolerance * std::max(1.0, std::abs(ll))) break;
    previous = ll;
  }
  // Order the modes by mean so that the encoding does not depend on how EM numbered them.
  const auto order = std::get<1>(mu.sort());
  out.means = to_vector(mu.index_select(0, order));
  out.stds = to_vector(var.index_select(0, order).sqrt());
  out.weights = to_vector(w.index_select(0, order));
  return out;
}

}  // namespace panoramia::tabular_gan
