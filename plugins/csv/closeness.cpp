#include "closeness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::csv {

double total_variation(const std::vector<long>& a, const std::vector<long>& b, long categories) {
  if (a.empty() || b.empty()) return NAN;
  std::vector<double> pa(categories, 0.0), pb(categories, 0.0);
  for (long v : a) pa.at(v) += 1.0 / a.size();
  for (long v : b) pb.at(v) += 1.0 / b.size();
  double tv = 0;
  for (long k = 0; k < categories; ++k) tv += std::abs(pa[k] - pb[k]);
  return tv / 2;
}

double ks_statistic(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) return NAN;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::abs(double(i) / a.size() - double(j) / b.size()));
  }
  return d;
}

std::vector<Closeness> column_closeness(const Batch& real, const Batch& synthetic) {
  if (!real.schema || !synthetic.schema)
    throw std::invalid_argument("column closeness needs tabular samples");
  const auto& schema = *real.schema;
  const auto xr = real.x.to(torch::kFloat64).contiguous();
  const auto xs = synthetic.x.to(torch::kFloat64).contiguous();
  std::vector<Closeness> out;
  for (std::size_t c = 0; c < schema.columns.size(); ++c) {
    const auto& col = schema.columns[c];
    const auto ar = xr.select(1, static_cast<int64_t>(c)).contiguous();
    const auto as = xs.select(1, static_cast<int64_t>(c)).contiguous();
    std::vector<double> vr(ar.data_ptr<double>(), ar.data_ptr<double>() + ar.numel());
    std::vector<double> vs(as.data_ptr<double>(), as.data_ptr<double>() + as.numel());
    if (col.kind == ColumnKind::kCategorical) {
      const long k = static_cast<long>(col.categories.size());
      std::vector<long> cr, cs;
      for (double v : vr) cr.push_back(std::clamp(static_cast<long>(std::lround(v)), 0L, k - 1));
      for (double v : vs) cs.push_back(std::clamp(static_cast<long>(std::lround(v)), 0L, k - 1));
      out.push_back({col.name, "tv", total_variation(cr, cs, k)});
    } else {
      out.push_back({col.name, "ks", ks_statistic(vr, vs)});
    }
  }
  return out;
}

Preview table_preview(const Batch& samples) {
  // Samples without a schema (a generator that dropped it) cannot be named: no preview.
  if (!samples.schema) return {};
  const auto x = samples.x.reshape({samples.size(), -1}).to(torch::kFloat64).contiguous();
  const auto& columns = samples.schema->columns;
  if (std::int64_t(columns.size()) > x.size(1))
    throw std::invalid_argument("a table preview got samples of " + std::to_string(x.size(1)) +
                                " columns for a schema of " + std::to_string(columns.size()));
  const std::int64_t n = std::min<std::int64_t>(samples.size(), kPreviewSamples);
  Preview preview;
  for (const auto& column : columns) preview.columns.push_back(column.name);
  for (std::int64_t r = 0; r < n; ++r) {
    std::vector<std::string> row;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const double v = x[r][static_cast<std::int64_t>(c)].item<double>();
      if (columns[c].kind == ColumnKind::kCategorical) {
        const auto code = std::llround(v);
        row.push_back(code >= 0 && std::size_t(code) < columns[c].categories.size()
                          ? columns[c].categories[std::size_t(code)]
                          : "?");
      } else {
        char text[32];
        std::snprintf(text, sizeof text, "%.4g", v);
        row.emplace_back(text);
      }
    }
    preview.rows.push_back(std::move(row));
  }
  return preview;
}

}  // namespace panoramia::csv
