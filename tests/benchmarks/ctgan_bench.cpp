// The tabular GAN and the gbm classifier beside their Python peers (scripts/bench-peers, pairs 5
// and 6). Three commands:
//   train:    fits the `tabular-gan` plugin's CTGAN on a CSV file (header, kinds inferred as the
//             csv reader infers them) for --epochs epochs of rows/batch steps (CTGAN's own epoch),
//             prints `prepare_s` (transformer and sampler) and the median, shortest and longest
//             epoch (`epoch_s`, `epoch_min_s`, `epoch_max_s`), then
//             writes --samples synthetic rows to --out;
//   fidelity: how close synthetic rows are to held-out real ones, both read with the training
//             file's schema: per-column KS (continuous) and total variation (categorical), and
//             the held-out AUC of gradient-boosted trees telling real from synthetic rows (half of
//             each to train, the other half to test); --dump DIR writes those four matrices for
//             the Python twin of the next command;
//   xgb:      trains the boosters of a parameter list (one "depth leaves rounds eta" per line) on
//             a dumped split through our XGBoost C API layer and prints each one's time and
//             held-out AUC.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_common.hpp"
#include "closeness.hpp"
#include "ctgan.hpp"
#include "rows_csv.hpp"
#include "search.hpp"
#include "table.hpp"
#include "xgb.hpp"

namespace {

using namespace panoramia;
using panoramia::bench::Clock;
using panoramia::bench::seconds_since;

Batch read_csv(const std::string& path, std::shared_ptr<const TabularSchema> schema = nullptr) {
  csv::TableOptions options;
  options.source = path;
  options.schema = std::move(schema);
  options.schema_source = "the training file";
  return csv::read_table(path, options);
}

int train(const std::string& input, const std::string& out, std::int64_t epochs, std::int64_t batch,
          std::int64_t pac, std::int64_t samples, std::int64_t seed) {
  const Batch data = read_csv(input);
  tabular_gan::CtganOptions options;
  options.epochs = epochs;
  options.batch_size = batch;
  options.pac = pac;
  tabular_gan::Ctgan model(options);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(seed));
  auto start = Clock::now();
  model.prepare(data, generator);
  std::printf("prepare_s %.4f\n", seconds_since(start));
  std::string modes;
  for (const auto& g : model.transformer().mixtures())
    if (g.size() > 0) modes += (modes.empty() ? "" : ",") + std::to_string(g.size());
  std::printf("encoded_dim %lld\ncondition_dim %lld\nmodes %s\n",
              static_cast<long long>(model.transformer().output_dim()),
              static_cast<long long>(model.transformer().cond_dim()), modes.c_str());
  // CTGAN's epoch: rows / batch steps (at least one).
  const std::int64_t steps = std::max<std::int64_t>(1, data.size() / batch);
  std::vector<double> times;
  for (std::int64_t e = 0; e < epochs; ++e) {
    start = Clock::now();
    for (std::int64_t s = 0; s < steps; ++s) model.step(generator);
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  std::printf("epoch_s %.4f\nepoch_min_s %.4f\nepoch_max_s %.4f\nsteps_per_epoch %lld\n",
              times[times.size() / 2], times.front(), times.back(), static_cast<long long>(steps));
  start = Clock::now();
  tabular_gan::write_rows_csv(out, *data.schema, model.sample(samples, generator));
  std::printf("sample_s %.4f\n", seconds_since(start));
  return 0;
}

// Rows of x (float32) with labels, shuffled by `rng`, cut into halves.
struct Split {
  torch::Tensor x_train, y_train, x_test, y_test;
};

Split halves(const torch::Tensor& real, const torch::Tensor& synthetic, std::uint64_t seed) {
  const std::int64_t n = std::min(real.size(0), synthetic.size(0));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto pick = [&](const torch::Tensor& t) {
    return t.index_select(0, torch::randperm(t.size(0), gen, torch::kLong).slice(0, 0, n));
  };
  const auto x = torch::cat({pick(real), pick(synthetic)}).to(torch::kFloat32);
  const auto y = torch::cat({torch::ones({n}), torch::zeros({n})});
  const auto order = torch::randperm(2 * n, gen, torch::kLong);
  const auto xs = x.index_select(0, order), ys = y.index_select(0, order);
  return {xs.slice(0, 0, n), ys.slice(0, 0, n), xs.slice(0, n), ys.slice(0, n)};
}

void dump(const std::filesystem::path& file, const torch::Tensor& x, const torch::Tensor& y) {
  std::ofstream o(file);
  o.precision(17);
  const auto xa = x.to(torch::kFloat64).contiguous();
  const auto* p = xa.data_ptr<double>();
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    o << y[i].item<float>();
    for (std::int64_t j = 0; j < x.size(1); ++j) o << ',' << p[i * x.size(1) + j];
    o << '\n';
  }
  if (!o) throw std::runtime_error("cannot write " + file.string());
}

std::pair<torch::Tensor, torch::Tensor> undump(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<float> values;
  std::vector<float> labels;
  std::int64_t columns = -1;
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields(line);
    std::string field;
    std::int64_t count = 0;
    while (std::getline(fields, field, ',')) {
      (count == 0 ? labels : values).push_back(std::stof(field));
      ++count;
    }
    if (columns < 0) columns = count - 1;
    if (count - 1 != columns) throw std::runtime_error(file.string() + ": ragged row");
  }
  const auto rows = static_cast<std::int64_t>(labels.size());
  return {torch::from_blob(values.data(), {rows, columns}).clone(),
          torch::from_blob(labels.data(), {rows}).clone()};
}

// The detector of the fidelity table: fixed parameters, the same for every generator.
gbm::BoosterParams detector() {
  gbm::BoosterParams p;
  p.max_depth = 6;
  p.max_leaves = 63;
  p.rounds = 200;
  p.learning_rate = 0.1;
  p.threads = 1;
  return p;
}

int fidelity(const std::string& train_file, const std::string& real_file,
             const std::string& synthetic_file, const std::string& dump_dir, std::int64_t seed) {
  const Batch train = read_csv(train_file);
  const Batch real = read_csv(real_file, train.schema);
  const Batch synthetic = read_csv(synthetic_file, train.schema);
  double ks_sum = 0, ks_max = 0, tv_sum = 0, tv_max = 0;
  int ks_n = 0, tv_n = 0;
  for (const auto& c : csv::column_closeness(real, synthetic)) {
    std::printf("column %s %s %.6f\n", c.feature.c_str(), c.measure.c_str(), c.distance);
    if (c.measure == "ks") {
      ks_sum += c.distance, ks_max = std::max(ks_max, c.distance), ++ks_n;
    } else {
      tv_sum += c.distance, tv_max = std::max(tv_max, c.distance), ++tv_n;
    }
  }
  std::printf("ks_mean %.6f\nks_max %.6f\ntv_mean %.6f\ntv_max %.6f\n", ks_sum / ks_n, ks_max,
              tv_sum / tv_n, tv_max);
  const Split s = halves(real.x, synthetic.x, static_cast<std::uint64_t>(seed));
  const gbm::DMatrix train_m(s.x_train, s.y_train), test_m(s.x_test);
  const gbm::Booster booster(detector(), train_m);
  std::printf("detector_auc %.6f\n", gbm::roc_auc(booster.predict(test_m), s.y_test));
  if (!dump_dir.empty()) {
    std::filesystem::create_directories(dump_dir);
    dump(std::filesystem::path(dump_dir) / "train.csv", s.x_train, s.y_train);
    dump(std::filesystem::path(dump_dir) / "test.csv", s.x_test, s.y_test);
  }
  return 0;
}

int xgb(const std::string& dir, const std::string& params_file, std::int64_t threads) {
  const auto [x_train, y_train] = undump(std::filesystem::path(dir) / "train.csv");
  const auto [x_test, y_test] = undump(std::filesystem::path(dir) / "test.csv");
  std::ifstream params(params_file);
  if (!params) throw std::runtime_error("cannot read " + params_file);
  for (std::string line; std::getline(params, line);) {
    std::istringstream fields(line);
    gbm::BoosterParams p;
    if (!(fields >> p.max_depth >> p.max_leaves >> p.rounds >> p.learning_rate)) continue;
    p.threads = static_cast<int>(threads);
    const auto start = Clock::now();
    const gbm::DMatrix train_m(x_train, y_train);
    const gbm::Booster booster(p, train_m);
    const gbm::DMatrix test_m(x_test);
    const auto scores = booster.predict(test_m);
    const double seconds = seconds_since(start);
    std::printf("%d %d %d %g %.4f %.8f\n", p.max_depth, p.max_leaves, p.rounds, p.learning_rate,
                seconds, gbm::roc_auc(scores, y_test));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ctgan_bench train|fidelity|xgb --name value ...\n");
    return 2;
  }
  const std::string command = argv[1];
  std::int64_t epochs = 10, batch = 500, pac = 10, samples = 10000, seed = 1, threads = 1;
  std::string input, out, real, synthetic, dump_dir, params;
  if (!bench::parse_flags(argc - 1, argv + 1,
                          {{"--epochs", &epochs},
                           {"--batch", &batch},
                           {"--pac", &pac},
                           {"--samples", &samples},
                           {"--seed", &seed},
                           {"--threads", &threads}},
                          {{"--train", &input},
                           {"--out", &out},
                           {"--real", &real},
                           {"--synthetic", &synthetic},
                           {"--dump", &dump_dir},
                           {"--params", &params}}))
    return 2;
  torch::set_num_threads(static_cast<int>(threads));
  try {
    if (command == "train") return train(input, out, epochs, batch, pac, samples, seed);
    if (command == "fidelity") return fidelity(input, real, synthetic, dump_dir, seed);
    if (command == "xgb") return xgb(dump_dir, params, threads);
    std::fprintf(stderr, "unknown command %s\n", command.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ctgan_bench %s: %s\n", command.c_str(), e.what());
  }
  return 1;
}
