#include "features.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::tabular {

torch::Tensor tabular_features(const Batch& samples, const SideSignals& side,
                               const FeatureOptions& options) {
  if (!samples.schema)
    throw std::invalid_argument("the tabular featurizer needs tabular samples, got modality '" +
                                samples.modality + "'");
  const auto& schema = *samples.schema;
  const int64_t n = samples.size();
  const auto ncols = static_cast<int64_t>(schema.columns.size());
  if (samples.x.dim() != 2 || samples.x.size(1) != ncols)
    throw std::invalid_argument("tabular samples must be [n, " + std::to_string(ncols) +
                                "] as their schema says");
  std::vector<torch::Tensor> parts;
  for (int64_t c = 0; c < ncols; ++c) {
    if (c == schema.label && !options.label) continue;
    const auto& col = schema.columns[c];
    const auto values = samples.x.select(1, c);
    if (col.kind == ColumnKind::kCategorical && options.encoding == Encoding::kOneHot) {
      const auto k = static_cast<int64_t>(col.categories.size());
      const auto codes = values.to(torch::kInt64);
      if (n > 0 && (codes.min().item<int64_t>() < 0 || codes.max().item<int64_t>() >= k))
        throw std::invalid_argument("column '" + col.name + "' has a code outside its " +
                                    std::to_string(k) + " categories");
      parts.push_back(torch::one_hot(codes, k).to(torch::kFloat32));
    } else {
      parts.push_back(values.to(torch::kFloat32).reshape({n, 1}));
    }
  }
  if (options.loss || options.log_loss) {
    if (!side.loss.defined()) throw std::invalid_argument("the side model gave no loss");
    if (side.loss.numel() != n)
      throw std::invalid_argument("the side model gave " + std::to_string(side.loss.numel()) +
                                  " losses for " + std::to_string(n) + " samples");
    const auto loss = side.loss.reshape({n, 1}).to(torch::kFloat32);
    if (options.loss) parts.push_back(loss);
    if (options.log_loss) parts.push_back(torch::log(loss.clamp_min(1e-12)));
  }
  if (parts.empty()) throw std::invalid_argument("the tabular featurizer was left no features");
  return torch::cat(parts, 1).contiguous();
}

std::vector<std::string> feature_names(const TabularSchema& schema, const FeatureOptions& options) {
  std::vector<std::string> names;
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    if (static_cast<int>(c) == schema.label && !options.label) continue;
    const auto& col = schema.columns[c];
    if (col.kind == ColumnKind::kCategorical && options.encoding == Encoding::kOneHot) {
      for (const auto& cat : col.categories) names.push_back(col.name + "=" + cat);
    } else {
      names.push_back(col.name);
    }
  }
  if (options.loss) names.push_back("loss");
  if (options.log_loss) names.push_back("log_loss");
  return names;
}

}  // namespace panoramia::tabular
