#include "sampler.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::tabular_gan {
namespace {

int64_t draw(const std::vector<double>& cdf, double u) {
  const double target = u * cdf.back();
  for (size_t k = 0; k < cdf.size(); ++k)
    if (target < cdf[k]) return static_cast<int64_t>(k);
  // u * total rounded up to the total: the last category with any mass.
  for (size_t k = cdf.size(); k-- > 1;)
    if (cdf[k] > cdf[k - 1]) return static_cast<int64_t>(k);
  return 0;
}

}  // namespace

ConditionalSampler::ConditionalSampler(const DataTransformer& transformer, const torch::Tensor& raw)
    : discrete_(transformer.discrete()), cond_dim_(transformer.cond_dim()) {
  const auto codes_all = raw.to(torch::kInt64).contiguous();
  const auto codes = codes_all.accessor<int64_t, 2>();
  std::vector<std::vector<double>> counts;
  for (const auto& d : discrete_) {
    std::vector<std::vector<int64_t>> per_category(d.categories);
    for (int64_t i = 0; i < codes_all.size(0); ++i)
      per_category.at(codes[i][d.column]).push_back(i);
    std::vector<double> count;
    for (const auto& rows : per_category) count.push_back(double(rows.size()));
    counts.push_back(std::move(count));
    rows_.push_back(std::move(per_category));
  }
  set_counts(counts);
}

ConditionalSampler::ConditionalSampler(const DataTransformer& transformer,
                                       std::vector<std::vector<double>> counts)
    : discrete_(transformer.discrete()), cond_dim_(transformer.cond_dim()) {
  if (counts.size() != discrete_.size())
    throw std::invalid_argument("category counts do not match the discrete columns");
  for (size_t i = 0; i < counts.size(); ++i)
    if (static_cast<int64_t>(counts[i].size()) != discrete_[i].categories)
      throw std::invalid_argument("category counts do not match the discrete columns");
  set_counts(counts);
}

void ConditionalSampler::set_counts(const std::vector<std::vector<double>>& counts) {
  cdf_.clear();
  log_cdf_.clear();
  for (const auto& count : counts) {
    std::vector<double> cdf, log_cdf;
    double total = 0, log_total = 0;
    for (const double c : count) {
      total += c;
      log_total += c > 0 ? std::log(c + 1.0) : 0.0;
      cdf.push_back(total);
      log_cdf.push_back(log_total);
    }
    cdf_.push_back(std::move(cdf));
    log_cdf_.push_back(std::move(log_cdf));
  }
}

std::vector<std::vector<double>> ConditionalSampler::counts() const {
  std::vector<std::vector<double>> out;
  for (const auto& cdf : cdf_) {
    std::vector<double> count;
    double previous = 0;
    for (const double c : cdf) {
      count.push_back(c - previous);
      previous = c;
    }
    out.push_back(std::move(count));
  }
  return out;
}

Conditions ConditionalSampler::sample(int64_t batch, bool log_frequency,
                                      at::Generator& generator) const {
  Conditions c;
  const auto ncols = static_cast<int64_t>(discrete_.size());
  c.cond = torch::zeros({batch, cond_dim_});
  c.mask = torch::zeros({batch, ncols});
  if (ncols == 0) return c;
  const auto u = torch::rand({batch, 2}, generator, torch::kFloat64);
  const auto uu = u.accessor<double, 2>();
  auto cond = c.cond.accessor<float, 2>();
  auto mask = c.mask.accessor<float, 2>();
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t col = std::min(ncols - 1, static_cast<int64_t>(uu[i][0] * double(ncols)));
    const int64_t k = draw(log_frequency ? log_cdf_[col] : cdf_[col], uu[i][1]);
    c.column.push_back(col);
    c.category.push_back(k);
    cond[i][discrete_[col].cond_start + k] = 1.0f;
    mask[i][col] = 1.0f;
  }
  return c;
}

torch::Tensor ConditionalSampler::matching_rows(const Conditions& c,
                                                at::Generator& generator) const {
  if (rows_.size() != discrete_.size())
    throw std::logic_error("this conditional sampler holds no training rows");
  const auto batch = static_cast<int64_t>(c.column.size());
  auto out = torch::empty({batch}, torch::kInt64);
  auto o = out.accessor<int64_t, 1>();
  const auto u = torch::rand({batch}, generator, torch::kFloat64);
  const auto uu = u.accessor<double, 1>();
  for (int64_t i = 0; i < batch; ++i) {
    const auto& rows = rows_[c.column[i]][c.category[i]];
    const auto size = static_cast<int64_t>(rows.size());
    o[i] = rows[std::min<int64_t>(size - 1, static_cast<int64_t>(uu[i] * double(size)))];
  }
  return out;
}

}  // namespace panoramia::tabular_gan
