// Plugin `gaussian`: a toy vector modality for tests and demos, and a class-conditional Gaussian
// generator that works on any real-valued samples (vectors, images, flattened).
//
// - reader: draws `samples` vectors of dimension `dim` from `classes` Gaussians whose means are
//   `separation` apart along random directions (seeded).
// - generator: fits, per class, the mean and a shrunk covariance (full or diagonal) of the
//   flattened samples and draws from it; labels follow the training class frequencies.
#include <fstream>

#include <fmt/format.h>

#include <torch/torch.h>
#include <panoramia/archive.hpp>

#include <panoramia/plugin.hpp>

namespace {

using panoramia::Batch;
using panoramia::Context;
using panoramia::OptionSpec;
using panoramia::OptionType;

class GaussianReader final : public panoramia::DatasetReader {
 public:
  Batch read(Context& ctx) override {
    const auto& o = ctx.options();
    const int64_t n = o.get_int("samples");
    const int64_t dim = o.get_int("dim");
    const int64_t classes = o.get_int("classes");
    if (n <= 0 || dim <= 0 || classes <= 0)
      throw std::invalid_argument("samples, dim and classes must be positive");
    auto& gen = ctx.generator();
    auto means = torch::randn({classes, dim}, gen, torch::kFloat32);
    means = means / means.norm(2, 1, true) * (o.get_double("separation") / 2.0);
    Batch b;
    b.y = torch::randint(classes, {n}, gen, torch::kInt64);
    b.x = torch::randn({n, dim}, gen, torch::kFloat32) + means.index_select(0, b.y);
    b.modality = "vector";
    return b;
  }

  /// The vectors as a table: the first 8 coordinates to 4 significant digits, then the label.
  panoramia::Preview preview(const Batch& samples, Context&) const override {
    panoramia::Preview preview;
    const std::int64_t n = std::min<std::int64_t>(samples.size(), panoramia::kPreviewSamples);
    const auto x = samples.x.reshape({samples.size(), -1}).to(torch::kFloat64);
    const std::int64_t shown = std::min<std::int64_t>(x.size(1), 8);
    for (std::int64_t c = 0; c < shown; ++c) preview.columns.push_back("x" + std::to_string(c));
    if (samples.y.defined()) preview.columns.emplace_back("label");
    for (std::int64_t r = 0; r < n; ++r) {
      std::vector<std::string> row;
      for (std::int64_t c = 0; c < shown; ++c)
        row.push_back(fmt::format("{:.4g}", x[r][c].item<double>()));
      if (samples.y.defined()) row.push_back(std::to_string(samples.y[r].item<std::int64_t>()));
      preview.rows.push_back(std::move(row));
    }
    return preview;
  }
};

class GaussianGenerator final : public panoramia::Generator {
 public:
  void fit(const Batch& train, Context& ctx) override {
    if (train.size() < 2) throw std::invalid_argument("the generator needs at least 2 samples");
    const auto& o = ctx.options();
    sample_shape_ = train.x.sizes().slice(1).vec();
    modality_ = train.modality;
    const auto x = train.x.reshape({train.size(), -1}).to(torch::kFloat64);
    const auto y = train.y.defined() ? train.y : torch::zeros({train.size()}, torch::kInt64);
    const int64_t classes = y.max().item<int64_t>() + 1;
    const double shrinkage = o.get_double("shrinkage");
    const bool diagonal = o.get_string("covariance") == "diagonal";
    means_.clear();
    factors_.clear();
    std::vector<double> counts;
    for (int64_t c = 0; c < classes; ++c) {
      const auto xc = x.index({y == c});
      counts.push_back(static_cast<double>(xc.size(0)));
      if (xc.size(0) < 2) {
        means_.push_back(torch::zeros({x.size(1)}, torch::kFloat64));
        factors_.push_back(torch::zeros({x.size(1), x.size(1)}, torch::kFloat64));
        continue;
      }
      const auto mean = xc.mean(0);
      const auto centered = xc - mean;
      auto cov = centered.t().mm(centered) / double(xc.size(0) - 1);
      const auto var = cov.diagonal();
      if (diagonal) cov = torch::diag(var);
      // Ledoit-Wolf-style shrinkage towards the average variance keeps the factor well defined.
      const double avg = var.mean().item<double>();
      cov = (1 - shrinkage) * cov + shrinkage * avg * torch::eye(x.size(1), torch::kFloat64);
      cov += 1e-9 * torch::eye(x.size(1), torch::kFloat64);
      means_.push_back(mean);
      factors_.push_back(torch::linalg_cholesky(cov));
    }
    class_weights_ = torch::tensor(counts, torch::kFloat64);
    lo_ = x.min().item<double>();
    hi_ = x.max().item<double>();
    clamp_ = o.get_bool("clamp");
    has_labels_ = train.y.defined();
    schema_ = train.schema;
  }

  Batch sample(int64_t n, Context& ctx) override {
    if (means_.empty()) throw std::logic_error("sample() before fit() or load()");
    auto& gen = ctx.generator();
    const auto labels = torch::multinomial(class_weights_, n, /*replacement=*/true, gen);
    const int64_t d = means_.front().size(0);
    auto out = torch::empty({n, d}, torch::kFloat64);
    for (size_t c = 0; c < means_.size(); ++c) {
      const auto idx = (labels == int64_t(c)).nonzero().squeeze(1);
      if (idx.numel() == 0) continue;
      const auto z = torch::randn({idx.numel(), d}, gen, torch::kFloat64);
      out.index_put_({idx}, z.mm(factors_[c].t()) + means_[c]);
    }
    if (clamp_) out.clamp_(lo_, hi_);
    std::vector<int64_t> shape{n};
    shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
    Batch b;
    b.x = out.to(torch::kFloat32).reshape(shape);
    if (has_labels_) b.y = labels;
    b.modality = modality_;
    b.schema = schema_;
    return b;
  }

  void save(const std::filesystem::path& dir, Context&) const override {
    torch::serialize::OutputArchive a;
    a.write("means", torch::stack(means_));
    a.write("factors", torch::stack(factors_));
    a.write("class_weights", class_weights_);
    a.write("shape", torch::tensor(sample_shape_, torch::kInt64));
    a.write("range", torch::tensor({lo_, hi_}, torch::kFloat64));
    a.write("flags", torch::tensor({int64_t(clamp_), int64_t(has_labels_)}, torch::kInt64));
    panoramia::save_archive(a, dir / "gaussian.pt");
    std::ofstream((dir / "modality.txt").string()) << modality_;
  }

  void load(const std::filesystem::path& dir, Context&) override {
    const auto file = dir / "gaussian.pt";
    if (!std::filesystem::exists(file))
      throw std::runtime_error("no saved Gaussian generator at " + file.string());
    torch::serialize::InputArchive a;
    a.load_from(file.string());
    torch::Tensor means, factors, shape, range, flags;
    a.read("means", means);
    a.read("factors", factors);
    a.read("class_weights", class_weights_);
    a.read("shape", shape);
    a.read("range", range);
    a.read("flags", flags);
    means_ = means.unbind(0);
    factors_ = factors.unbind(0);
    sample_shape_.assign(shape.data_ptr<int64_t>(), shape.data_ptr<int64_t>() + shape.numel());
    lo_ = range[0].item<double>();
    hi_ = range[1].item<double>();
    clamp_ = flags[0].item<int64_t>() != 0;
    has_labels_ = flags[1].item<int64_t>() != 0;
    std::ifstream((dir / "modality.txt").string()) >> modality_;
  }

 private:
  std::vector<torch::Tensor> means_, factors_;
  torch::Tensor class_weights_;
  std::vector<int64_t> sample_shape_;
  std::string modality_;
  std::shared_ptr<const panoramia::TabularSchema> schema_;
  double lo_ = 0, hi_ = 0;
  bool clamp_ = false, has_labels_ = true;
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind kind) const override {
    using T = OptionType;
    if (kind == panoramia::kDatasetReader)
      return {option("samples", T::kInt, "2000", "number of vectors to draw").at_least(1),
              option("dim", T::kInt, "10", "dimension of each vector"),
              option("classes", T::kInt, "2", "number of classes (one Gaussian each)"),
              option("separation", T::kDouble, "2.0", "distance between class means")};
    return {option("covariance", T::kString, "full", "covariance model", {"full", "diagonal"}),
            option("shrinkage", T::kDouble, "0.1",
                   "shrinkage of the covariance towards its mean variance")
                .within(0, 1),
            option("clamp", T::kBool, "false", "clamp samples to the range of the training data")};
  }
  std::unique_ptr<panoramia::DatasetReader> make_dataset_reader(Context&) override {
    return std::make_unique<GaussianReader>();
  }
  std::unique_ptr<panoramia::Generator> make_generator(Context&) override {
    return std::make_unique<GaussianGenerator>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "gaussian", "1.0.0", panoramia::kDatasetReader | panoramia::kGenerator,
                 "Toy Gaussian vectors (reader) and a class-conditional Gaussian generator.")
