#include "transformer.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::tabular_gan {
namespace {

constexpr double kStdScale = 4.0;  // CTGAN's scaling of a value within its mode
constexpr double kClip = 0.99;

torch::Tensor doubles(const std::vector<double>& v) {
  return torch::tensor(v, torch::kFloat64);
}

}  // namespace

void DataTransformer::fit(const Batch& train, const GmmOptions& gmm) {
  if (!train.schema) throw std::invalid_argument("the tabular GAN needs tabular samples");
  if (train.size() == 0) throw std::invalid_argument("the tabular GAN needs training samples");
  const auto& schema = *train.schema;
  kinds_.clear();
  categories_.clear();
  gmms_.clear();
  min_.clear();
  max_.clear();
  integer_.clear();
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    const auto& col = schema.columns[c];
    kinds_.push_back(col.kind);
    const auto values = train.x.select(1, static_cast<int64_t>(c)).to(torch::kFloat64);
    if (col.kind == ColumnKind::kCategorical) {
      categories_.push_back(static_cast<int64_t>(col.categories.size()));
      gmms_.emplace_back();
      min_.push_back(0);
      max_.push_back(0);
      integer_.push_back(0);
      continue;
    }
    categories_.push_back(0);
    gmms_.push_back(fit_gmm(values, gmm));
    min_.push_back(values.min().item<double>());
    max_.push_back(values.max().item<double>());
    integer_.push_back((values == values.round()).all().item<bool>());
  }
  layout();
}

void DataTransformer::layout() {
  spans_.clear();
  column_start_.clear();
  discrete_.clear();
  int64_t offset = 0, cond = 0;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    column_start_.push_back(static_cast<int64_t>(spans_.size()));
    if (kinds_[c] == ColumnKind::kContinuous) {
      spans_.push_back({offset, 1, false});
      spans_.push_back({offset + 1, gmms_[c].size(), true});
      offset += 1 + gmms_[c].size();
    } else {
      discrete_.push_back({static_cast<int64_t>(c), offset, categories_[c], cond});
      spans_.push_back({offset, categories_[c], true});
      offset += categories_[c];
      cond += categories_[c];
    }
  }
  output_dim_ = offset;
  cond_dim_ = cond;
}

torch::Tensor DataTransformer::transform(const Batch& batch, at::Generator& generator) const {
  if (!batch.schema || batch.x.size(1) != static_cast<int64_t>(kinds_.size()))
    throw std::invalid_argument("samples do not match the schema the transformer was fitted on");
  const int64_t n = batch.size();
  std::vector<torch::Tensor> parts;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    const auto values = batch.x.select(1, static_cast<int64_t>(c)).to(torch::kFloat64);
    if (kinds_[c] == ColumnKind::kCategorical) {
      const auto codes = values.to(torch::kInt64);
      if (n > 0 &&
          (codes.min().item<int64_t>() < 0 || codes.max().item<int64_t>() >= categories_[c]))
        throw std::invalid_argument("column " + std::to_string(c) +
                                    " has an unknown category code");
      parts.push_back(torch::one_hot(codes, categories_[c]).to(torch::kFloat32));
      continue;
    }
    const auto& g = gmms_[c];
    const auto probs = g.posterior(values) + 1e-6;
    const auto mode =
        torch::multinomial(probs / probs.sum(1, true), 1, false, generator).reshape({-1});
    const auto mu = doubles(g.means).index_select(0, mode);
    const auto sd = doubles(g.stds).index_select(0, mode);
    const auto alpha = ((values - mu) / (kStdScale * sd)).clamp(-kClip, kClip);
    parts.push_back(alpha.to(torch::kFloat32).unsqueeze(1));
    parts.push_back(torch::one_hot(mode, g.size()).to(torch::kFloat32));
  }
  return torch::cat(parts, 1);
}

torch::Tensor DataTransformer::inverse(const torch::Tensor& encoded) const {
  if (encoded.dim() != 2 || encoded.size(1) != output_dim_)
    throw std::invalid_argument("encoded rows have " + std::to_string(encoded.size(-1)) +
                                " values, the transformer makes " + std::to_string(output_dim_));
  const auto e = encoded.to(torch::kFloat64);
  std::vector<torch::Tensor> cols;
  for (size_t c = 0; c < kinds_.size(); ++c) {
    const Span& first = spans_[column_start_[c]];
    if (kinds_[c] == ColumnKind::kCategorical) {
      cols.push_back(
          e.slice(1, first.start, first.start + first.width).argmax(1).to(torch::kFloat64));
      continue;
    }
    const Span& modes = spans_[column_start_[c] + 1];
    const auto& g = gmms_[c];
    const auto alpha = e.select(1, first.start).clamp(-1, 1);
    const auto mode = e.slice(1, modes.start, modes.start + modes.width).argmax(1);
    auto value = alpha * kStdScale * doubles(g.stds).index_select(0, mode) +
                 doubles(g.means).index_select(0, mode);
    value = value.clamp(min_[c], max_[c]);
    if (integer_[c]) value = value.round();
    cols.push_back(value);
  }
  return torch::stack(cols, 1);
}

void DataTransformer::save(torch::serialize::OutputArchive& a) const {
  std::vector<int64_t> kinds;
  for (auto k : kinds_) kinds.push_back(k == ColumnKind::kContinuous ? 0 : 1);
  a.write("transformer.kinds", torch::tensor(kinds, torch::kInt64));
  a.write("transformer.categories", torch::tensor(categories_, torch::kInt64));
  a.write("transformer.min", doubles(min_));
  a.write("transformer.max", doubles(max_));
  std::vector<int64_t> integer(integer_.begin(), integer_.end());
  a.write("transformer.integer", torch::tensor(integer, torch::kInt64));
  for (size_t c = 0; c < gmms_.size(); ++c) {
    if (kinds_[c] != ColumnKind::kContinuous) continue;
    const std::string p = "transformer.gmm." + std::to_string(c) + ".";
    a.write(p + "weights", doubles(gmms_[c].weights));
    a.write(p + "means", doubles(gmms_[c].means));
    a.write(p + "stds", doubles(gmms_[c].stds));
  }
}

void DataTransformer::load(torch::serialize::InputArchive& a) {
  auto ints = [&](const std::string& key) {
    torch::Tensor t;
    a.read(key, t);
    t = t.contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  };
  auto reals = [&](const std::string& key) {
    torch::Tensor t;
    a.read(key, t);
    t = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  };
  kinds_.clear();
  for (auto k : ints("transformer.kinds"))
    kinds_.push_back(k == 0 ? ColumnKind::kContinuous : ColumnKind::kCategorical);
  categories_ = ints("transformer.categories");
  min_ = reals("transformer.min");
  max_ = reals("transformer.max");
  integer_.clear();
  for (auto v : ints("transformer.integer")) integer_.push_back(static_cast<char>(v));
  gmms_.assign(kinds_.size(), Gmm1d{});
  for (size_t c = 0; c < kinds_.size(); ++c) {
    if (kinds_[c] != ColumnKind::kContinuous) continue;
    const std::string p = "transformer.gmm." + std::to_string(c) + ".";
    gmms_[c].weights = reals(p + "weights");
    gmms_[c].means = reals(p + "means");
    gmms_[c].stds = reals(p + "stds");
  }
  layout();
}

}  // namespace panoramia::tabular_gan
