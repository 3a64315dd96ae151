#pragma once
// Attack features of tabular samples: the record itself plus the side model's loss. Trees need no
// scaling, so continuous columns stay raw; categorical columns are either their codes or one-hot.

#include <torch/types.h>

#include <panoramia/data.hpp>

namespace panoramia::tabular {

enum class Encoding { kCodes, kOneHot };

struct FeatureOptions {
  Encoding encoding = Encoding::kCodes;
  /// Keep the label column among the features (the reference does).
  bool label = true;
  bool loss = true;
  bool log_loss = true;
};

/// float32 [n, d]: the record's columns in schema order (each continuous column one value, each
/// categorical one code or one-hot block), then the loss, then log(loss). Throws
/// std::invalid_argument for non-tabular samples or side signals not aligned with them.
torch::Tensor tabular_features(const Batch& samples, const SideSignals& side,
                               const FeatureOptions& options);

/// Names of the columns `tabular_features` returns, for logs and inspection.
std::vector<std::string> feature_names(const TabularSchema& schema, const FeatureOptions& options);

}  // namespace panoramia::tabular
