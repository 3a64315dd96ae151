#pragma once
/// The data that crosses the plugin boundary: batches of samples and a model's side signals.
///
/// Tensors are reference-counted (`at::Tensor` shares storage), so passing a `Batch` by value is
/// cheap; a plugin that modifies a tensor it received must `clone()` it first. All tensors live on
/// the CPU unless the host's context says otherwise.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <boost/config.hpp>

namespace panoramia {

/// Column kinds of a table.
enum class ColumnKind { kContinuous, kCategorical };

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kContinuous;
  /// Categories in code order (code i is `categories[i]`); empty for continuous columns.
  std::vector<std::string> categories;
};

/// The schema of tabular samples. A tabular `Batch::x` is float64 `[n, columns.size()]` holding the
/// raw value of continuous columns and the category code of categorical ones. `label` indexes the
/// label column, whose codes are also in `Batch::y`.
struct TabularSchema {
  std::vector<Column> columns;
  int label = -1;
};

/// A batch of samples.
/// - `x`: the samples, first dimension n (images float32 `[n,C,H,W]` in [0,1]; vectors `[n,d]`;
///   tokens int64 `[n,T]`; tables as described in `TabularSchema`).
/// - `y`: int64 `[n]` class labels (the real label, or the conditioning class of a generated
/// sample);
///   undefined when the modality has none.
/// - `modality`: "vector", "image", "tabular", "text" or a third party's own name.
/// - `schema`: set for tabular data only.
struct Batch {
  at::Tensor x;
  at::Tensor y;
  std::string modality;
  std::shared_ptr<const TabularSchema> schema;

  std::int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

/// Per-example signals a target (or helper) model gives about samples.
/// - `loss`: float32 `[n]`, always set: the per-example loss at the sample's label.
/// - `loss_vector`: float32 `[n,k]`, optional (e.g. the per-token losses of a text block).
/// - `logits`: float32 `[n,classes]`, optional.
struct SideSignals {
  at::Tensor loss;
  at::Tensor loss_vector;
  at::Tensor logits;
};

}  // namespace panoramia
