#include "encoder.hpp"

#include <torch/torch.h>

namespace panoramia::mlp {

void InputEncoder::fit(const Batch& train, bool standardize) {
  if (train.size() == 0) throw std::invalid_argument("cannot fit the input encoder on no samples");
  tabular_ = train.schema != nullptr;
  layout_.clear();
  columns_.clear();
  torch::Tensor continuous;
  if (tabular_) {
    const auto& schema = *train.schema;
    std::vector<torch::Tensor> cols;
    for (size_t c = 0; c < schema.columns.size(); ++c) {
      if (static_cast<int>(c) == schema.label) continue;
      columns_.push_back(static_cast<int64_t>(c));
      const auto& col = schema.columns[c];
      if (col.kind == ColumnKind::kContinuous) {
        layout_.push_back(-1);
        cols.push_back(train.x.select(1, static_cast<int64_t>(c)).to(torch::kFloat32));
      } else {
        layout_.push_back(static_cast<int64_t>(col.categories.size()));
      }
    }
    continuous = cols.empty() ? torch::zeros({train.size(), 0}) : torch::stack(cols, 1);
  } else {
    continuous = train.x.reshape({train.size(), -1}).to(torch::kFloat32);
  }
  if (standardize && continuous.size(0) > 1) {
    mean_ = continuous.mean(0);
    std_ = continuous.std(0).clamp_min(1e-6);
  } else {
    mean_ = torch::zeros({continuous.size(1)});
    std_ = torch::ones({continuous.size(1)});
  }
  width_ = continuous.size(1);
  for (auto k : layout_)
    if (k > 0) width_ += k;
  if (width_ == 0) throw std::invalid_argument("the samples have no input features");
}

torch::Tensor InputEncoder::encode(const Batch& batch) const {
  if (!fitted()) throw std::logic_error("the input encoder is not fitted");
  if (!tabular_) {
    auto x = batch.x.reshape({batch.size(), -1}).to(torch::kFloat32);
    if (x.size(1) != mean_.size(0))
      throw std::invalid_argument("samples have " + std::to_string(x.size(1)) +
                                  " features but the model expects " +
                                  std::to_string(mean_.size(0)));
    return (x - mean_) / std_;
  }
  if (!batch.schema) throw std::invalid_argument("tabular model given samples without a schema");
  std::vector<torch::Tensor> parts;
  std::vector<torch::Tensor> cont;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const auto col = batch.x.select(1, columns_[i]);
    if (layout_[i] < 0) {
      cont.push_back(col.to(torch::kFloat32));
    } else {
      const auto codes = col.to(torch::kInt64);
      if (codes.numel() > 0 &&
          (codes.min().item<int64_t>() < 0 || codes.max().item<int64_t>() >= layout_[i]))
        throw std::invalid_argument("column " + std::to_string(columns_[i]) +
                                    " has a category code outside the encoder's " +
                                    std::to_string(layout_[i]) + " categories");
      parts.push_back(torch::one_hot(codes, layout_[i]).to(torch::kFloat32));
    }
  }
  torch::Tensor x = cont.empty() ? torch::zeros({batch.size(), 0}) : torch::stack(cont, 1);
  x = (x - mean_) / std_;
  parts.insert(parts.begin(), x);
  return torch::cat(parts, 1);
}

void InputEncoder::save(torch::serialize::OutputArchive& a) const {
  a.write("encoder.mean", mean_);
  a.write("encoder.std", std_);
  a.write("encoder.layout", torch::tensor(layout_, torch::kInt64));
  a.write("encoder.columns", torch::tensor(columns_, torch::kInt64));
  a.write("encoder.flags", torch::tensor({int64_t(tabular_), width_}, torch::kInt64));
}

void InputEncoder::load(torch::serialize::InputArchive& a) {
  torch::Tensor layout, columns, flags;
  a.read("encoder.mean", mean_);
  a.read("encoder.std", std_);
  a.read("encoder.layout", layout);
  a.read("encoder.columns", columns);
  a.read("encoder.flags", flags);
  layout_.assign(layout.data_ptr<int64_t>(), layout.data_ptr<int64_t>() + layout.numel());
  columns_.assign(columns.data_ptr<int64_t>(), columns.data_ptr<int64_t>() + columns.numel());
  tabular_ = flags[0].item<int64_t>() != 0;
  width_ = flags[1].item<int64_t>();
}

}  // namespace panoramia::mlp
