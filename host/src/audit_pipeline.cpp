#include "audit_pipeline.hpp"

#include <cmath>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "batch_io.hpp"
#include "closeness.hpp"
#include "hashing.hpp"
#include "plugin_error.hpp"
#include "results_db.hpp"

namespace panoramia {
namespace {

at::Tensor range(std::int64_t begin, std::int64_t end) {
  return torch::arange(begin, end, torch::kInt64);
}

void check_batch(const Batch& b, const std::string& who, std::int64_t expected = -1) {
  if (!b.x.defined() || b.size() == 0) throw std::runtime_error(who + " returned no samples");
  if (expected >= 0 && b.size() != expected)
    throw std::runtime_error(who + " returned " + std::to_string(b.size()) + " samples, expected " +
                             std::to_string(expected));
  if (b.y.defined() && (b.y.dim() != 1 || b.y.size(0) != b.size()))
    throw std::runtime_error(who + " returned labels not aligned with its samples");
}

void check_signals(const SideSignals& s, std::int64_t n, const std::string& who) {
  if (!s.loss.defined() || s.loss.dim() != 1 || s.loss.size(0) != n)
    throw std::runtime_error(who + " returned no per-example loss of shape [" + std::to_string(n) +
                             "]");
  if (!torch::isfinite(s.loss).all().item<bool>())
    throw std::runtime_error(who + " returned non-finite losses");
}

}  // namespace

AuditPipeline::AuditPipeline(const ResolvedConfig& config, const PluginRegistry& registry,
                             std::filesystem::path workdir, StageCache& cache,
                             std::shared_ptr<spdlog::logger> logger)
    : config_(config),
      registry_(registry),
      workdir_(std::move(workdir)),
      cache_(cache),
      logger_(std::move(logger)),
      seed_(static_cast<std::uint64_t>(config.section("audit").host.get_int("seed"))),
      device_(torch::kCPU) {
  const std::string device = config.section("audit").host.get_string("device");
  if (device == "cuda" || (device == "auto" && torch::cuda::is_available())) {
    if (!torch::cuda::is_available())
      throw UserError("[audit] device = cuda, but this LibTorch has no usable CUDA device");
    device_ = torch::Device(torch::kCUDA);
  }
}

HostContext& AuditPipeline::context(const std::string& section, const std::string& stage,
                                    const std::filesystem::path& work_dir) {
  const auto& s = config_.section(section);
  auto logger = std::make_shared<spdlog::logger>(section + ":" + s.plugin, logger_->sinks().begin(),
                                                 logger_->sinks().end());
  logger->set_level(logger_->level());
  logger->set_pattern("[%H:%M:%S] [%l] [%n] %v");
  contexts_.push_back(std::make_unique<HostContext>(s.plugin_options, logger,
                                                    derive_seed(seed_, stage), work_dir, device_));
  // LibTorch's global generator (used by default module initialisation) starts from a random seed
  // in this build: seed it per stage so that plugins relying on it are reproducible too.
  torch::manual_seed(derive_seed(seed_, stage + ":global"));
  return *contexts_.back();
}

std::string AuditPipeline::plugin_key(const std::string& section) const {
  const auto& s = config_.section(section);
  const auto* plugin = registry_.find(s.plugin);
  Hasher h;
  h.add(section).add(s.plugin).add(plugin ? plugin->version : "").add(config_.section_text(section));
  h.add(seed_);
  return h.hex();
}

stats::AuditSummary AuditPipeline::run(std::vector<MetricRecord>& extra_metrics,
                                       std::vector<ScoreColumn>& scores) {
  load_data();
  split_data();
  generate();
  train_target();
  train_helper();
  build_game();
  compute_signals();
  closeness(extra_metrics);

  stats::ScoreTable table;
  table.source = "audit";
  for (std::int64_t i = 0; i < test_set_.is_member.size(0); ++i)
    table.member.push_back(test_set_.is_member[i].item<float>() > 0.5f ? 1 : 0);
  std::vector<std::pair<std::string, std::string>> columns{{"baseline_pred", "baseline"}};
  for (const auto& v : variants_) columns.emplace_back("mia_" + v + "_pred", "mia_" + v);
  for (const auto& [column, side] : columns) {
    table.names.push_back(column);
    table.scores.push_back(attack(column, side));
    scores.push_back(ScoreColumn{column, table.member, table.scores.back()});
  }
  const auto& audit = config_.section("audit").host;
  stats::SweepOptions options;
  options.mode = audit.get_string("threshold_mode") == "all" ? stats::ThresholdMode::kAll
                                                             : stats::ThresholdMode::kReference;
  options.search = audit.get_string("bound_search") == "exact" ? stats::BoundSearch::kExact
                                                               : stats::BoundSearch::kReference;
  options.confidence = audit.get_double("confidence");
  options.measurements = 2;
  return stats::summarize(table, options);
}

void AuditPipeline::load_data() {
  data_key_ = plugin_key("data");
  const std::string plugin = config_.section("data").plugin;
  cache_.run(
      "data", data_key_,
      [&](const std::filesystem::path& dir) {
        auto& ctx = context("data", "data", dir / "work");
        auto reader = registry_.make_dataset_reader(plugin, ctx);
        data_ = guarded(plugin, "read", [&] { return reader->read(ctx); });
        check_batch(data_, "reader '" + plugin + "'");
        save_batch(data_, dir / "data.pt");
      },
      [&](const std::filesystem::path& dir) { data_ = load_batch(dir / "data.pt"); });
  fingerprint_ = fingerprint(data_);
  logger_->info("data: {} {} samples, fingerprint {}", data_.size(), data_.modality, fingerprint_);
}

void AuditPipeline::split_data() {
  const auto& s = config_.section("split").host;
  const double target_fraction = s.get_double("target_fraction");
  const double fg = s.get_double("generator_fraction");
  const double fa = s.get_double("attack_train_fraction");
  const double ft = s.get_double("attack_test_fraction");
  for (double f : {target_fraction, fg, fa, ft})
    if (!(f > 0 && f <= 1)) throw UserError("[split] fractions must be in (0, 1]");
  if (fg + fa + ft > 1 + 1e-9)
    throw UserError("[split] generator_fraction + attack_train_fraction + attack_test_fraction "
                    "must not exceed 1 (the pools are disjoint parts of the target's training set)");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(derive_seed(seed_, "split"));
  auto order = torch::randperm(data_.size(), gen, torch::kInt64);
  const std::int64_t max_samples = s.get_int("max_samples");
  if (max_samples > 0 && max_samples < order.size(0)) order = order.slice(0, 0, max_samples);
  const std::int64_t n = order.size(0);
  const auto n_target = static_cast<std::int64_t>(std::floor(target_fraction * n));
  split_.target_train = order.slice(0, 0, n_target);
  split_.target_validation = order.slice(0, n_target, n);
  const auto n_gen = static_cast<std::int64_t>(std::floor(fg * n_target));
  const auto n_atr = static_cast<std::int64_t>(std::floor(fa * n_target));
  const auto n_ate = static_cast<std::int64_t>(std::floor(ft * n_target));
  if (n_gen < 2 || n_atr < 1 || n_ate < 1)
    throw UserError("[split] leaves too few samples (generator " + std::to_string(n_gen) +
                    ", attack-train " + std::to_string(n_atr) + ", attack-test " +
                    std::to_string(n_ate) + ") from " + std::to_string(n) + " samples");
  split_.generator = split_.target_train.slice(0, 0, n_gen);
  split_.attack_train = split_.target_train.slice(0, n_gen, n_gen + n_atr);
  split_.attack_test = split_.target_train.slice(0, n_gen + n_atr, n_gen + n_atr + n_ate);
  Hasher h;
  h.add(fingerprint_).add(config_.section_text("split")).add(seed_);
  split_.key = h.hex();
  logger_->info("split: target trains on {} (validation {}); generator {}, attack-train {}, "
                "attack-test {} members",
                n_target, n - n_target, n_gen, n_atr, n_ate);
}

void AuditPipeline::generate() {
  const auto& section = config_.section("generator");
  const std::int64_t helper_samples = section.host.get_int("helper_samples");
  n_helper_ = helper_samples > 0 ? helper_samples : split_.generator.size(0);
  const std::int64_t total = n_helper_ + split_.attack_train.size(0) + split_.attack_test.size(0);
  const std::string load = section.host.get_string("load");
  Hasher h;
  h.add(plugin_key("generator")).add(fingerprint_).add(split_.key);
  generator_key_ = h.hex();
  const std::string plugin = section.plugin;
  cache_.run(
      "generator", generator_key_,
      [&](const std::filesystem::path& dir) {
        auto& ctx = context("generator", "generator", dir / "work");
        auto generator = registry_.make_generator(plugin, ctx);
        if (!load.empty()) {
          guarded(plugin, "load", [&] { generator->load(load, ctx); });
        } else {
          const Batch pool = select_rows(data_, split_.generator);
          guarded(plugin, "fit", [&] { generator->fit(pool, ctx); });
        }
        std::filesystem::create_directories(dir / "model");
        guarded(plugin, "save", [&] { generator->save(dir / "model", ctx); });
        synthetic_ = guarded(plugin, "sample", [&] { return generator->sample(total, ctx); });
        check_batch(synthetic_, "generator '" + plugin + "'", total);
        if (synthetic_.modality != data_.modality)
          throw std::runtime_error("generator '" + plugin + "' returned " + synthetic_.modality +
                                   " samples for " + data_.modality + " data");
        save_batch(synthetic_, dir / "synthetic.pt");
      },
      [&](const std::filesystem::path& dir) { synthetic_ = load_batch(dir / "synthetic.pt"); });
}

void AuditPipeline::train_target() {
  const auto& section = config_.section("target");
  const std::string plugin = section.plugin;
  const std::string load = section.host.get_string("load");
  Hasher h;
  h.add(plugin_key("target")).add(fingerprint_).add(split_.key);
  target_key_ = h.hex();
  auto& ctx = context("target", "target", cache_.dir("target", target_key_) / "work");
  target_ = registry_.make_target(plugin, ctx);
  cache_.run(
      "target", target_key_,
      [&](const std::filesystem::path& dir) {
        if (!load.empty()) {
          guarded(plugin, "load", [&] { target_->load(load, ctx); });
        } else {
          if (!target_->can_fit())
            throw UserError("target plugin '" + plugin + "' cannot train; set [target] load");
          const Batch train = select_rows(data_, split_.target_train);
          const Batch validation = select_rows(data_, split_.target_validation);
          guarded(plugin, "fit", [&] { target_->fit(train, validation, ctx); });
        }
        std::filesystem::create_directories(dir / "model");
        guarded(plugin, "save", [&] { target_->save(dir / "model", ctx); });
      },
      [&](const std::filesystem::path& dir) {
        guarded(plugin, "load", [&] { target_->load(dir / "model", ctx); });
      });
  variants_ = guarded(plugin, "variants", [&] { return target_->variants(); });
  if (variants_.empty()) throw PluginError(plugin, "variants", "it returned no model variant");
}

void AuditPipeline::train_helper() {
  const auto& section = config_.section("helper");
  const std::string plugin = section.plugin;
  Hasher h;
  h.add(plugin_key("helper")).add(generator_key_);
  helper_key_ = h.hex();
  auto& ctx = context("helper", "helper", cache_.dir("helper", helper_key_) / "work");
  helper_ = registry_.make_target(plugin, ctx);
  cache_.run(
      "helper", helper_key_,
      [&](const std::filesystem::path& dir) {
        if (!helper_->can_fit()) throw UserError("helper plugin '" + plugin + "' cannot train");
        const double vf = section.host.get_double("validation_fraction");
        const auto n_val = static_cast<std::int64_t>(std::floor(vf * n_helper_));
        const Batch train = select_rows(synthetic_, range(n_val, n_helper_));
        const Batch validation = select_rows(synthetic_, range(0, n_val));
        guarded(plugin, "fit", [&] { helper_->fit(train, validation, ctx); });
        std::filesystem::create_directories(dir / "model");
        guarded(plugin, "save", [&] { helper_->save(dir / "model", ctx); });
      },
      [&](const std::filesystem::path& dir) {
        guarded(plugin, "load", [&] { helper_->load(dir / "model", ctx); });
      });
}

void AuditPipeline::build_game() {
  const std::int64_t n_atr = split_.attack_train.size(0);
  const std::int64_t n_ate = split_.attack_test.size(0);
  // Attack training: every attack-train member and as many synthetic samples (disjoint from the
  // helper's), labelled 1 and 0.
  const Batch synth_train = select_rows(synthetic_, range(n_helper_, n_helper_ + n_atr));
  train_set_.samples = concat(select_rows(data_, split_.attack_train), synth_train);
  train_set_.is_member = torch::cat({torch::ones({n_atr}), torch::zeros({n_atr})});

  // The test game: m fair coins; slot i holds real member i on heads, generated sample i on tails.
  const auto& game = config_.section("game").host;
  std::int64_t m = game.get_int("m");
  if (m < 0 || m > n_ate)
    throw UserError("[game] m = " + std::to_string(m) + " but only " + std::to_string(n_ate) +
                    " attack-test members (and as many generated samples) are available");
  if (m == 0) m = n_ate;
  const std::int64_t game_seed = game.get_int("seed");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(
      game_seed >= 0 ? static_cast<std::uint64_t>(game_seed) : derive_seed(seed_, "game"));
  const auto coins = torch::bernoulli(torch::full({m}, 0.5, torch::kFloat64), gen).to(torch::kInt64);
  const Batch real = select_rows(data_, split_.attack_test.slice(0, 0, m));
  const Batch fake =
      select_rows(synthetic_, range(n_helper_ + n_atr, n_helper_ + n_atr + m));
  const auto pick = range(0, m) + (1 - coins) * m;
  test_set_.samples = select_rows(concat(real, fake), pick);
  test_set_.is_member = coins.to(torch::kFloat32);
  Hasher h;
  h.add(generator_key_).add(split_.key).add(static_cast<std::uint64_t>(m));
  h.add(static_cast<std::uint64_t>(game_seed)).add(seed_);
  game_key_ = h.hex();
  logger_->info("game: m = {} slots, {} members", m, coins.sum().item<std::int64_t>());
}

void AuditPipeline::compute_signals() {
  Hasher h;
  h.add(target_key_).add(helper_key_).add(game_key_);
  signals_key_ = h.hex();
  const std::string helper_variant = helper_->variants().at(0);
  struct Side {
    std::string name;
    std::shared_ptr<TargetAdapter> model;
    std::string variant;
    std::string section;
  };
  std::vector<Side> sides{{"baseline", helper_, helper_variant, "helper"}};
  for (const auto& v : variants_) sides.push_back({"mia_" + v, target_, v, "target"});
  cache_.run(
      "signals", signals_key_,
      [&](const std::filesystem::path& dir) {
        for (const auto& side : sides) {
          const std::string plugin = config_.section(side.section).plugin;
          auto& ctx = context(side.section, "signals", dir / "work");
          const std::string op = "side_signals(" + side.variant + ")";
          auto train = guarded(plugin, op, [&] {
            return side.model->side_signals(train_set_.samples, side.variant, ctx);
          });
          auto test = guarded(plugin, op, [&] {
            return side.model->side_signals(test_set_.samples, side.variant, ctx);
          });
          check_signals(train, train_set_.samples.size(), plugin + " " + op);
          check_signals(test, test_set_.samples.size(), plugin + " " + op);
          save_signals(train, dir / (side.name + ".train.pt"));
          save_signals(test, dir / (side.name + ".test.pt"));
          train_signals_[side.name] = train;
          test_signals_[side.name] = test;
        }
      },
      [&](const std::filesystem::path& dir) {
        for (const auto& side : sides) {
          train_signals_[side.name] = load_signals(dir / (side.name + ".train.pt"));
          test_signals_[side.name] = load_signals(dir / (side.name + ".test.pt"));
        }
      });
}

std::vector<double> AuditPipeline::attack(const std::string& column, const std::string& side) {
  Hasher h;
  h.add(plugin_key("attack")).add(plugin_key("featurizer")).add(signals_key_).add(side);
  const std::string key = h.hex();
  at::Tensor scores;
  const std::string attack_plugin = config_.section("attack").plugin;
  const std::string feat_plugin = config_.section("featurizer").plugin;
  cache_.run(
      "attack-" + side, key,
      [&](const std::filesystem::path& dir) {
        // Same stage seed for the baseline and every MIA: they differ only in the side model.
        auto& fctx = context("featurizer", "featurizer", dir / "featurizer");
        auto& actx = context("attack", "attack", dir / "work");
        auto featurizer = registry_.make_featurizer(feat_plugin, fctx);
        auto attack = registry_.make_attack(attack_plugin, actx);
        AttackData train{train_set_.samples, train_signals_.at(side), {}};
        AttackData test{test_set_.samples, test_signals_.at(side), {}};
        train.features = guarded(feat_plugin, "featurize", [&] {
          return featurizer->featurize(train.samples, train.side, fctx);
        });
        test.features = guarded(feat_plugin, "featurize", [&] {
          return featurizer->featurize(test.samples, test.side, fctx);
        });
        guarded(attack_plugin, "fit", [&] { attack->fit(train, train_set_.is_member, actx); });
        scores = guarded(attack_plugin, "score", [&] { return attack->score(test, actx); });
        scores = scores.to(torch::kFloat64).reshape({-1}).contiguous();
        if (scores.size(0) != test.samples.size())
          throw PluginError(attack_plugin, "score", "it returned " + std::to_string(scores.size(0)) +
                                                        " scores for " +
                                                        std::to_string(test.samples.size()) +
                                                        " samples");
        if (!torch::isfinite(scores).all().item<bool>() || scores.min().item<double>() < 0 ||
            scores.max().item<double>() > 1)
          throw PluginError(attack_plugin, "score", "it returned scores outside [0, 1]");
        save_tensor(scores, dir / "scores.pt");
      },
      [&](const std::filesystem::path& dir) { scores = load_tensor(dir / "scores.pt"); });
  return std::vector<double>(scores.data_ptr<double>(), scores.data_ptr<double>() + scores.numel());
}

void AuditPipeline::closeness(std::vector<MetricRecord>& metrics) const {
  if (!data_.schema) return;
  const Batch real = select_rows(data_, split_.target_validation);
  const Batch fake = select_rows(synthetic_, range(0, n_helper_));
  for (const auto& c : column_closeness(real, fake)) {
    metrics.push_back(MetricRecord{"generator", c.metric + ":" + c.column, c.distance, {}, {}});
    logger_->info("generator closeness to held-out data: {} {} = {:.4f}", c.column, c.metric,
                  c.distance);
  }
}

}  // namespace panoramia
