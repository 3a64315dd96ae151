#include "audit_pipeline.hpp"

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "batch_io.hpp"
#include "hashing.hpp"
#include "input_fingerprint.hpp"
#include "plugin_error.hpp"
#include "preview_checks.hpp"
#include "results_db.hpp"
#include "results_io.hpp"
#include "stats/fdp.hpp"
#include "stats/o1.hpp"
#include "stats/report.hpp"

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

c10::Device AuditPipeline::device_for(const ResolvedConfig& config, int local_rank) {
  const std::string device = config.section("audit").host.get_string("device");
  if (device != "cuda" && !(device == "auto" && torch::cuda::is_available())) return torch::kCPU;
  if (!torch::cuda::is_available())
    throw UserError("[audit] device = cuda, but this LibTorch has no usable CUDA device");
  // One GPU per rank of this machine: its local rank's, modulo the GPUs visible.
  const int local = std::max(0, local_rank);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                         local % static_cast<int>(torch::cuda::device_count())));
}

AuditPipeline::AuditPipeline(const ResolvedConfig& config, const PluginRegistry& registry,
                             std::filesystem::path workdir, StageCache& cache,
                             std::shared_ptr<spdlog::logger> logger, Communicator& communicator,
                             ThreadPolicy threads, c10::Device device)
    : config_(config),
      registry_(registry),
      workdir_(std::move(workdir)),
      cache_(cache),
      logger_(std::move(logger)),
      communicator_(communicator),
      seed_(static_cast<std::uint64_t>(config.section("audit").host.get_int("seed"))),
      model_seed_(seed_),
      attack_seed_(seed_),
      device_(device),
      threads_(threads) {
  bf16_training_ = config.section("audit").host.get_string("precision") == "bf16";
  // The options the games read, parsed once (the config's choices are already validated).
  const auto& audit = config.section("audit").host;
  sweep_options_.mode =
      stats::parse_threshold_mode(audit.get_string("threshold_mode"), "[audit] threshold_mode");
  sweep_options_.search =
      stats::parse_bound_search(audit.get_string("bound_search"), "[audit] bound_search");
  sweep_options_.confidence = audit.get_double("confidence");
  sweep_options_.measurements = 2;
  const auto& o1 = config.section("o1").host;
  o1_options_.selection = stats::parse_o1_selection(o1.get_string("selection"), "[o1] selection");
  o1_options_.confidence = o1.get_double("confidence");
  o1_options_.delta = o1.get_double("delta");
  o1_options_.k_plus = o1.get_int("k_plus");
  o1_options_.k_minus = o1.get_int("k_minus");
  o1_options_.grid = o1.get_double_list("grid");
  o1_options_.split_seed = derive_seed(seed_, "o1-split");
  helper_count_ = config.section("helper").host.get_int("count");
}

HostContext& AuditPipeline::context(const std::string& section, const std::string& stage,
                                    const std::filesystem::path& work_dir) {
  const auto& s = config_.section(section);
  auto logger = std::make_shared<spdlog::logger>(section + ":" + s.plugin, logger_->sinks().begin(),
                                                 logger_->sinks().end());
  logger->set_level(logger_->level());
  logger->set_pattern(communicator_.world_size() > 1
                          ? "[%H:%M:%S] [rank " + std::to_string(communicator_.rank()) +
                                "] [%l] [%n] %v"
                          : "[%H:%M:%S] [%l] [%n] %v");
  const std::uint64_t seed = section_seed(section);
  contexts_.push_back(std::make_unique<HostContext>(s.plugin_options, logger,
                                                    derive_seed(seed, stage), work_dir, device_,
                                                    &communicator_, threads_));
  // Every stage starts on the audit's threads, whatever a loop of the previous stage chose.
  set_threads(threads_.stage_threads);
  // LibTorch's global generator (used by default module initialisation) starts from a random seed
  // in this build: seed it per stage so that plugins relying on it are reproducible too.
  torch::manual_seed(derive_seed(seed, stage + ":global"));
  return *contexts_.back();
}

std::uint64_t AuditPipeline::section_seed(const std::string& section) const {
  if (section == "target" || section == "helper") return model_seed_;
  if (section == "generator") return repeat_generator_ ? model_seed_ : seed_;
  if (section == "attack" || section == "featurizer" || section.rfind(kListedAttackPrefix, 0) == 0)
    return attack_seed_;
  return seed_;
}

std::unique_ptr<torch_compat::AutocastGuard> AuditPipeline::training_precision() const {
  if (!bf16_training_) return nullptr;
  return std::make_unique<torch_compat::AutocastGuard>(device_.type(), at::kBFloat16);
}

std::string AuditPipeline::plugin_key(const std::string& section) const {
  const auto& s = config_.section(section);
  const auto* plugin = registry_.find(s.plugin);
  Hasher h;
  h.add(section)
      .add(s.plugin)
      .add(plugin ? plugin->version : "")
      .add(config_.section_text(section));
  h.add(section_seed(section));
  // Models trained under bf16 autocast are other models (fp32 keys stay as they always were).
  if (bf16_training_ && (section == "generator" || section == "target" || section == "helper"))
    h.add("precision=bf16");
  return h.hex();
}

stats::AuditSummary AuditPipeline::run(AuditRecords& records) {
  const auto& repeat = config_.section("repeat").host;
  const std::int64_t target_seeds = repeat.get_int("target_seeds");
  const std::int64_t game_seeds = repeat.get_int("game_seeds");
  repeat_generator_ = repeat.get_bool("generator");
  load_data();
  split_data();
  stats::AuditSummary first;
  for (target_rep_ = 0; target_rep_ < target_seeds; ++target_rep_) {
    model_seed_ =
        target_rep_ == 0 ? seed_ : derive_seed(seed_, "target-seed:" + std::to_string(target_rep_));
    if (target_rep_ == 0 || repeat_generator_) generate();
    train_target();
    train_helper();
    for (game_rep_ = 0; game_rep_ < game_seeds; ++game_rep_) {
      attack_seed_ =
          game_rep_ == 0 ? seed_ : derive_seed(seed_, "game-seed:" + std::to_string(game_rep_));
      const bool primary = target_rep_ == 0 && game_rep_ == 0;
      const std::string label =
          "t" + std::to_string(target_rep_ + 1) + "g" + std::to_string(game_rep_ + 1);
      if (target_seeds * game_seeds > 1)
        logger_->info("repetition {} of {}: target seed {} of {}, game {} of {}",
                      target_rep_ * game_seeds + game_rep_ + 1, target_seeds * game_seeds,
                      target_rep_ + 1, target_seeds, game_rep_ + 1, game_seeds);
      std::vector<MetricRecord> metrics;
      std::vector<ScoreColumn> game_scores;
      std::vector<CurveRecord> game_curves;
      stats::AuditSummary summary = play_game(metrics, game_scores, game_curves, records.previews);
      Repetition rep{label, summary_metrics(summary)};
      rep.metrics.insert(rep.metrics.end(), metrics.begin(), metrics.end());
      records.repetitions.push_back(std::move(rep));
      if (primary) {
        first = std::move(summary);
        records.metrics = std::move(metrics);
        records.scores = std::move(game_scores);
        records.curves = std::move(game_curves);
      }
    }
  }
  return first;
}

stats::AuditSummary AuditPipeline::play_game(std::vector<MetricRecord>& metrics,
                                             std::vector<ScoreColumn>& scores,
                                             std::vector<CurveRecord>& curves,
                                             std::vector<PreviewRecord>& previews) {
  build_game();
  compute_signals();
  if (target_rep_ == 0 && game_rep_ == 0) describe_generator(metrics, previews);
  stats::AuditSummary summary = play("", "train", "test", scores, metrics, &curves);
  if (sets_.count("real-test") != 0) {
    const stats::AuditSummary real_summary =
        play("real/", "real-train", "real-test", scores, metrics, nullptr);
    for (auto& m : summary_metrics(real_summary)) {
      m.attack = "real/" + m.attack;
      metrics.push_back(std::move(m));
    }
  }
  std::map<std::string, double> o1_eps;
  if (sets_.count("canaries")) o1(metrics, o1_eps);
  return summary;
}

stats::AuditSummary AuditPipeline::play(const std::string& prefix, const std::string& train_set,
                                        const std::string& test_set,
                                        std::vector<ScoreColumn>& scores,
                                        std::vector<MetricRecord>& metrics,
                                        std::vector<CurveRecord>* curves) {
  const AttackSet& test = sets_.at(test_set);
  std::vector<int> member;
  for (std::int64_t i = 0; i < test.is_member.size(0); ++i)
    member.push_back(test.is_member[i].item<float>() > 0.5f ? 1 : 0);
  std::vector<std::pair<std::string, std::string>> columns{{"baseline_pred", "baseline"}};
  for (const auto& v : variants_) columns.emplace_back("mia_" + v + "_pred", "mia_" + v);
  stats::AuditSummary primary;
  for (const std::string& section : config_.attack_sections()) {
    // The [attack] plugin's rows keep their names; a listed attack's are under attacks/NAME/.
    const std::string listed =
        section == "attack" ? "" : "attacks/" + config_.section(section).plugin + "/";
    stats::ScoreTable table;
    table.source = listed + prefix + "audit";
    table.member = member;
    double seconds = 0;
    for (const auto& [column, side] : columns) {
      double side_seconds = 0;
      table.names.push_back(column);
      table.scores.push_back(attack(section, side, train_set, test_set, side_seconds));
      scores.push_back(ScoreColumn{listed + prefix + column, table.member, table.scores.back()});
      seconds += side_seconds;
    }
    stats::AuditSummary summary = stats::summarize(table, sweep_options_);
    const std::string game = prefix.empty() ? "" : prefix + " game: ";
    for (const std::string& warning : summary.warnings)
      logger_->warn("{}{}{}", listed.empty() ? "" : config_.section(section).plugin + ": ", game,
                    warning);
    metrics.push_back(MetricRecord{listed + prefix + "audit", "attack_seconds", seconds, {}, {}});
    if (listed.empty()) {
      primary = std::move(summary);
      continue;
    }
    for (auto& m : summary_metrics(summary)) {
      m.attack = listed + prefix + m.attack;
      metrics.push_back(std::move(m));
    }
    if (curves != nullptr) {
      for (auto& c : summary_curves(summary)) {
        c.attack = listed + c.attack;
        curves->push_back(std::move(c));
      }
    }
  }
  return primary;
}

void AuditPipeline::load_data() {
  const std::string inputs = input_files_fingerprint(config_.section("data").plugin_options);
  data_key_ = Hasher().add(plugin_key("data")).add(inputs).hex();
  const std::string plugin = config_.section("data").plugin;
  cache_.run(
      "data", data_key_,
      [&](const std::filesystem::path& dir) {
        make_reader(dir / "work");
        data_ = guarded(plugin, "read", [&] { return reader_->read(*reader_context_); });
        check_batch(data_, "reader '" + plugin + "'");
        save_batch(data_, dir / "data.pt");
      },
      [&](const std::filesystem::path& dir) {
        // The reader is made but not asked to read: its preview and closeness come later.
        make_reader(dir / "work");
        data_ = load_batch(dir / "data.pt");
      });
  fingerprint_ = fingerprint(data_);
  logger_->info("data: {} {} samples, fingerprint {}", data_.size(), data_.modality, fingerprint_);
}

void AuditPipeline::split_data() {
  const auto& s = config_.section("split").host;
  const double target_fraction = s.get_double("target_fraction");
  const double fg = s.get_double("generator_fraction");
  const double fa = s.get_double("attack_train_fraction");
  const double ft = s.get_double("attack_test_fraction");
  if (fg + fa + ft > 1 + 1e-9)
    throw UserError(
        "[split] generator_fraction + attack_train_fraction + attack_test_fraction "
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
  // O(1) canaries come from the held-out data: each joins the target's training set with
  // probability 1/2; the others stay out (real non-members).
  const std::int64_t canaries = config_.section("o1").host.get_int("canaries");
  if (canaries < 0 || canaries > split_.target_validation.size(0))
    throw UserError("[o1] canaries = " + std::to_string(canaries) + " but only " +
                    std::to_string(split_.target_validation.size(0)) +
                    " samples are held out from the target's training set");
  if (canaries > 0) {
    split_.canaries = split_.target_validation.slice(0, 0, canaries);
    split_.target_validation = split_.target_validation.slice(0, canaries);
    auto coin = at::make_generator<at::CPUGeneratorImpl>(derive_seed(seed_, "o1"));
    split_.canary_in =
        torch::bernoulli(torch::full({canaries}, 0.5, torch::kFloat64), coin).to(torch::kInt64);
  }
  Hasher h;
  h.add(fingerprint_).add(config_.section_text("split")).add(config_.section_text("o1")).add(seed_);
  split_.key = h.hex();
  logger_->info(
      "split: target trains on {} (validation {}); generator {}, attack-train {}, "
      "attack-test {} members; {} O(1) canaries",
      n_target, split_.target_validation.size(0), n_gen, n_atr, n_ate, canaries);
}

void AuditPipeline::generate() {
  const auto& section = config_.section("generator");
  const std::int64_t helper_samples = section.host.get_int("helper_samples");
  n_helper_ = helper_samples > 0 ? helper_samples : split_.generator.size(0);
  // Rows: helper 1's, the game's (attack-train, then attack-test), then each reference model's.
  const std::int64_t total =
      n_helper_ * helper_count_ + split_.attack_train.size(0) + split_.attack_test.size(0);
  const std::string load = section.host.get_string("load");
  Hasher h;
  h.add(plugin_key("generator")).add(fingerprint_).add(split_.key);
  // More helpers draw more samples (one helper keeps the key it always had).
  if (helper_count_ > 1) h.add("samples").add(static_cast<std::uint64_t>(total));
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
          guarded(plugin, "fit", [&] {
            const auto autocast = training_precision();
            generator->fit(pool, ctx);
          });
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
          at::Tensor rows = split_.target_train;
          if (split_.canaries.defined())
            rows = torch::cat({rows, split_.canaries.index({split_.canary_in == 1})});
          const Batch train = select_rows(data_, rows);
          const Batch validation = select_rows(data_, split_.target_validation);
          guarded(plugin, "fit", [&] {
            const auto autocast = training_precision();
            target_->fit(train, validation, ctx);
          });
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
  helpers_.clear();
  helper_keys_.clear();
  const std::int64_t game_rows = split_.attack_train.size(0) + split_.attack_test.size(0);
  for (std::int64_t k = 1; k <= helper_count_; ++k) {
    // Helper 1 keeps the stage name, seed and rows it always had; reference model k trains
    // on its own synthetic rows (after the game's) with its own seed.
    const std::string suffix = k == 1 ? "" : "-" + std::to_string(k);
    const std::int64_t first = k == 1 ? 0 : n_helper_ + game_rows + (k - 2) * n_helper_;
    Hasher h;
    h.add(plugin_key("helper")).add(generator_key_);
    if (k > 1) h.add("reference").add(static_cast<std::uint64_t>(k));
    helper_keys_.push_back(h.hex());
    const std::string stage = "helper" + suffix;
    auto& ctx = context("helper", stage, cache_.dir(stage, helper_keys_.back()) / "work");
    auto helper = registry_.make_target(plugin, ctx);
    cache_.run(
        stage, helper_keys_.back(),
        [&](const std::filesystem::path& dir) {
          if (!helper->can_fit()) throw UserError("helper plugin '" + plugin + "' cannot train");
          const double vf = section.host.get_double("validation_fraction");
          const auto n_val = static_cast<std::int64_t>(std::floor(vf * n_helper_));
          const Batch train = select_rows(synthetic_, range(first + n_val, first + n_helper_));
          const Batch validation = select_rows(synthetic_, range(first, first + n_val));
          guarded(plugin, "fit", [&] {
            const auto autocast = training_precision();
            helper->fit(train, validation, ctx);
          });
          std::filesystem::create_directories(dir / "model");
          guarded(plugin, "save", [&] { helper->save(dir / "model", ctx); });
        },
        [&](const std::filesystem::path& dir) {
          guarded(plugin, "load", [&] { helper->load(dir / "model", ctx); });
        });
    helpers_.push_back(std::move(helper));
  }
}

void AuditPipeline::build_game() {
  sets_.clear();
  const std::int64_t n_atr = split_.attack_train.size(0);
  const std::int64_t n_ate = split_.attack_test.size(0);
  const auto& game = config_.section("game").host;
  std::int64_t m = game.get_int("m");
  if (m < 0 || m > n_ate)
    throw UserError("[game] m = " + std::to_string(m) + " but only " + std::to_string(n_ate) +
                    " attack-test members (and as many generated samples) are available");
  if (m == 0) m = n_ate;
  const std::int64_t game_seed = game.get_int("seed");
  std::uint64_t coin_seed =
      game_seed >= 0 ? static_cast<std::uint64_t>(game_seed) : derive_seed(seed_, "game");
  // The pools of the game: attack-train and attack-test members, the synthetic samples beyond the
  // helper's (attack-training ones first, then the test's), the held-out real non-members.
  at::Tensor atr = split_.attack_train, ate = split_.attack_test;
  at::Tensor synthetic = range(n_helper_, n_helper_ + n_atr + n_ate);
  at::Tensor held_out = split_.target_validation;
  if (game_rep_ > 0) {
    // A game repetition redraws which members train the attacks and which are tested, which
    // synthetic and held-out samples go where, and the coins; the models stay as they are.
    const std::string rep = std::to_string(game_rep_);
    auto gen =
        at::make_generator<at::CPUGeneratorImpl>(derive_seed(coin_seed, "repetition:" + rep));
    const auto pool = torch::cat({atr, ate});
    const auto order = pool.index({torch::randperm(pool.size(0), gen, torch::kInt64)});
    atr = order.slice(0, 0, n_atr);
    ate = order.slice(0, n_atr);
    synthetic = synthetic.index({torch::randperm(synthetic.size(0), gen, torch::kInt64)});
    held_out = held_out.index({torch::randperm(held_out.size(0), gen, torch::kInt64)});
    coin_seed = derive_seed(coin_seed, "repetition-coins:" + rep);
  }
  // Attack training: every attack-train member and as many synthetic samples (disjoint from the
  // helper's), labelled 1 and 0.
  const Batch synth_train = select_rows(synthetic_, synthetic.slice(0, 0, n_atr));
  const Batch members_train = select_rows(data_, atr);
  sets_["train"] = AttackSet{concat(members_train, synth_train),
                             torch::cat({torch::ones({n_atr}), torch::zeros({n_atr})})};

  // The test game: m fair coins; slot i holds real member i on heads, generated sample i on tails.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(coin_seed);
  const auto coins =
      torch::bernoulli(torch::full({m}, 0.5, torch::kFloat64), gen).to(torch::kInt64);
  const Batch real = select_rows(data_, ate.slice(0, 0, m));
  const Batch fake = select_rows(synthetic_, synthetic.slice(0, n_atr, n_atr + m));
  const auto pick = range(0, m) + (1 - coins) * m;
  sets_["test"] = AttackSet{select_rows(concat(real, fake), pick), coins.to(torch::kFloat32)};

  // The same game with real held-out non-members (c = 0: {eps+c}_lb bounds eps itself).
  const std::string nonmembers = game.get_string("nonmembers");
  if (nonmembers == "both") {
    const std::int64_t m_real = std::min(m, held_out.size(0) - n_atr);
    if (m_real < 1)
      throw UserError("[game] nonmembers = both needs more held-out data than the " +
                      std::to_string(n_atr) + " attack-training non-members (" +
                      std::to_string(held_out.size(0)) +
                      " held out); lower [split] target_fraction");
    sets_["real-train"] =
        AttackSet{concat(members_train, select_rows(data_, held_out.slice(0, 0, n_atr))),
                  torch::cat({torch::ones({n_atr}), torch::zeros({n_atr})})};
    const auto real_coins = coins.slice(0, 0, m_real);
    const Batch out = select_rows(data_, held_out.slice(0, n_atr, n_atr + m_real));
    const Batch in = select_rows(data_, ate.slice(0, 0, m_real));
    sets_["real-test"] =
        AttackSet{select_rows(concat(in, out), range(0, m_real) + (1 - real_coins) * m_real),
                  real_coins.to(torch::kFloat32)};
  }
  if (split_.canaries.defined())
    sets_["canaries"] =
        AttackSet{select_rows(data_, split_.canaries), split_.canary_in.to(torch::kFloat32)};
  Hasher h;
  h.add(generator_key_).add(split_.key).add(static_cast<std::uint64_t>(m));
  h.add(static_cast<std::uint64_t>(game_seed)).add(seed_).add(nonmembers);
  if (game_rep_ > 0) h.add("repetition").add(static_cast<std::uint64_t>(game_rep_));
  game_key_ = h.hex();
  logger_->info("game: m = {} slots, {} members", m, coins.sum().item<std::int64_t>());
}

void AuditPipeline::compute_signals() {
  Hasher h;
  h.add(target_key_);
  for (const auto& key : helper_keys_) h.add(key);
  h.add(game_key_);
  signals_key_ = h.hex();
  struct Side {
    std::string name;
    std::shared_ptr<TargetAdapter> model;
    std::string variant;
    std::string section;
  };
  const std::string helper_plugin = config_.section("helper").plugin;
  const auto first_variant = [&](const std::shared_ptr<TargetAdapter>& helper) {
    const auto variants = guarded(helper_plugin, "variants", [&] { return helper->variants(); });
    if (variants.empty())
      throw PluginError(helper_plugin, "variants", "it returned no model variant");
    return variants.front();
  };
  std::vector<Side> sides{{"baseline", helpers_.at(0), first_variant(helpers_.at(0)), "helper"}};
  for (const auto& v : variants_) sides.push_back({"mia_" + v, target_, v, "target"});
  for (std::size_t k = 1; k < helpers_.size(); ++k)
    sides.push_back(
        {"reference_" + std::to_string(k + 1), helpers_[k], first_variant(helpers_[k]), "helper"});
  cache_.run(
      "signals", signals_key_,
      [&](const std::filesystem::path& dir) {
        for (const auto& side : sides) {
          const std::string plugin = config_.section(side.section).plugin;
          auto& ctx = context(side.section, "signals", dir / "work");
          const std::string op = "side_signals(" + side.variant + ")";
          for (const auto& [set, data] : sets_) {
            if (set == "canaries" && side.name.rfind("mia_", 0) != 0) continue;
            auto signals = guarded(plugin, op, [&] {
              return side.model->side_signals(data.samples, side.variant, ctx);
            });
            check_signals(signals, data.samples.size(), plugin + " " + op);
            save_signals(signals, dir / (side.name + "." + set + ".pt"));
            signals_[side.name][set] = signals;
          }
        }
      },
      [&](const std::filesystem::path& dir) {
        for (const auto& side : sides)
          for (const auto& [set, data] : sets_)
            if (!(set == "canaries" && side.name.rfind("mia_", 0) != 0))
              signals_[side.name][set] = load_signals(dir / (side.name + "." + set + ".pt"));
      });
}

std::vector<double> AuditPipeline::attack(const std::string& section, const std::string& side,
                                          const std::string& train_set, const std::string& test_set,
                                          double& seconds) {
  Hasher h;
  h.add(plugin_key(section)).add(plugin_key("featurizer")).add(signals_key_).add(side);
  h.add(train_set).add(test_set);
  const AttackSet& train_data = sets_.at(train_set);
  const AttackSet& test_data = sets_.at(test_set);
  const std::string attack_plugin = config_.section(section).plugin;
  const std::string stage = std::string(train_set == "train" ? "attack-" : "attack-real-") +
                            (section == "attack" ? "" : attack_plugin + "-") + side;
  const std::string key = h.hex();
  at::Tensor scores;
  const std::string feat_plugin = config_.section("featurizer").plugin;
  // The reference models' signals: the same for the baseline and every MIA.
  const auto references = [&](const std::string& set) {
    std::vector<SideSignals> out;
    for (std::int64_t k = 2; k <= helper_count_; ++k)
      out.push_back(signals_.at("reference_" + std::to_string(k)).at(set));
    return out;
  };
  cache_.run(
      stage, key,
      [&](const std::filesystem::path& dir) {
        const auto start = std::chrono::steady_clock::now();
        // Same stage seed for the baseline and every MIA: they differ only in the side model.
        auto& fctx = context("featurizer", "featurizer", dir / "featurizer");
        auto& actx = context(section, "attack", dir / "work");
        auto featurizer = registry_.make_featurizer(feat_plugin, fctx);
        auto attack = registry_.make_attack(attack_plugin, actx);
        AttackData train{
            train_data.samples, signals_.at(side).at(train_set), {}, references(train_set)};
        AttackData test{
            test_data.samples, signals_.at(side).at(test_set), {}, references(test_set)};
        train.features = guarded(feat_plugin, "featurize", [&] {
          return featurizer->featurize(train.samples, train.side, fctx);
        });
        test.features = guarded(feat_plugin, "featurize", [&] {
          return featurizer->featurize(test.samples, test.side, fctx);
        });
        guarded(attack_plugin, "fit", [&] { attack->fit(train, train_data.is_member, actx); });
        scores = guarded(attack_plugin, "score", [&] { return attack->score(test, actx); });
        scores = scores.to(torch::kFloat64).reshape({-1}).contiguous();
        if (scores.size(0) != test.samples.size())
          throw PluginError(attack_plugin, "score",
                            "it returned " + std::to_string(scores.size(0)) + " scores for " +
                                std::to_string(test.samples.size()) + " samples");
        if (!torch::isfinite(scores).all().item<bool>() || scores.min().item<double>() < 0 ||
            scores.max().item<double>() > 1)
          throw PluginError(attack_plugin, "score", "it returned scores outside [0, 1]");
        save_tensor(scores, dir / "scores.pt");
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        save_tensor(torch::tensor({seconds}, torch::kFloat64), dir / "seconds.pt");
      },
      [&](const std::filesystem::path& dir) {
        scores = load_tensor(dir / "scores.pt");
        // Entries written before the attack times were kept have no time: 0.
        seconds = std::filesystem::exists(dir / "seconds.pt")
                      ? load_tensor(dir / "seconds.pt").item<double>()
                      : 0.0;
      });
  return std::vector<double>(scores.data_ptr<double>(), scores.data_ptr<double>() + scores.numel());
}

void AuditPipeline::o1(std::vector<MetricRecord>& metrics,
                       std::map<std::string, double>& eps_lb) const {
  const stats::O1Options& options = o1_options_;
  const double fdp_delta = config_.section("o1").host.get_double("fdp_delta");
  const AttackSet& canaries = sets_.at("canaries");
  std::vector<int> member;
  for (std::int64_t i = 0; i < canaries.is_member.size(0); ++i)
    member.push_back(canaries.is_member[i].item<float>() > 0.5f ? 1 : 0);
  for (const auto& v : variants_) {
    const auto loss = signals_.at("mia_" + v).at("canaries").loss.to(torch::kFloat64).contiguous();
    const std::vector<double> losses(loss.data_ptr<double>(),
                                     loss.data_ptr<double>() + loss.numel());
    stats::O1Result r;
    try {
      r = stats::o1_audit(losses, member, options);
    } catch (const std::invalid_argument& e) {
      throw UserError(std::string("[o1] ") + e.what());
    }
    const std::string attack = "o1/" + v;
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, double>>{{"eps_lb", r.eps_lb},
                                                     {"m", double(r.m)},
                                                     {"r", double(r.r)},
                                                     {"v", double(r.v)},
                                                     {"k_plus", double(r.k_plus)},
                                                     {"k_minus", double(r.k_minus)},
                                                     {"level", r.level},
                                                     {"tests", double(r.tests)},
                                                     {"optimistic", r.optimistic ? 1.0 : 0.0}})
      metrics.push_back(MetricRecord{attack, name, value, {}, {}});
    eps_lb[v] = r.eps_lb;
    fdp(losses, member, options, fdp_delta, v, metrics);
    logger_->info("O(1) {} ({}): eps_lb = {:.4f} from r = {}, v = {} of m = {} canaries{}", v,
                  stats::to_string(options.selection), r.eps_lb, r.r, r.v, r.m,
                  r.optimistic ? " (optimistic: no correction for the selection)" : "");
  }
}

void AuditPipeline::fdp(const std::vector<double>& losses, const std::vector<int>& member,
                        const stats::O1Options& o1, double delta, const std::string& variant,
                        std::vector<MetricRecord>& metrics) const {
  // Same canaries, guesses and selection rule as O(1); the reference rule (uncorrected) has no
  // f-DP counterpart, so it is audited with the Bonferroni grid.
  stats::FdpOptions options;
  options.selection = o1.selection == stats::O1Selection::kReference
                          ? stats::O1Selection::kBonferroni
                          : o1.selection;
  options.confidence = o1.confidence;
  options.delta = delta;
  options.k_plus = o1.k_plus;
  options.k_minus = o1.k_minus;
  options.grid = o1.grid;
  options.split_seed = o1.split_seed;
  stats::FdpResult r;
  try {
    r = stats::fdp_audit(losses, member, options);
  } catch (const std::invalid_argument& e) {
    throw UserError(std::string("[o1] f-DP audit: ") + e.what());
  }
  const std::string attack = "fdp/" + variant;
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, double>>{{"mu_lb", r.mu_lb},
                                                   {"eps_lb", r.eps_lb},
                                                   {"delta", r.delta},
                                                   {"m", double(r.m)},
                                                   {"r", double(r.r)},
                                                   {"v", double(r.v)},
                                                   {"level", r.level},
                                                   {"tests", double(r.tests)},
                                                   {"saturated", r.saturated ? 1.0 : 0.0}})
    metrics.push_back(MetricRecord{attack, name, value, {}, {}});
  logger_->info(
      "f-DP one-run {}: mu_lb = {:.4f} (Gaussian DP), eps_lb = {:.4f} at delta {:g} from r = {}, v "
      "= {} of m = {}",
      variant, r.mu_lb, r.eps_lb, r.delta, r.r, r.v, r.m);
}

void AuditPipeline::make_reader(const std::filesystem::path& work_dir) {
  const std::string plugin = config_.section("data").plugin;
  reader_context_ = &context("data", "data", work_dir);
  reader_ = registry_.make_dataset_reader(plugin, *reader_context_);
}

void AuditPipeline::describe_generator(std::vector<MetricRecord>& metrics,
                                       std::vector<PreviewRecord>& previews) const {
  const std::string plugin = config_.section("data").plugin;
  const std::string who = "reader '" + plugin + "'";
  // A few of the members the generator learnt from, and as many of its samples.
  const auto shown = [](std::int64_t rows) {
    return std::min<std::int64_t>(rows, kPreviewSamples);
  };
  const std::vector<std::pair<std::string, Batch>> samples{
      {"real", select_rows(data_, split_.generator.slice(0, 0, shown(split_.generator.size(0))))},
      {"generated", select_rows(synthetic_, range(0, shown(synthetic_.size())))}};
  for (const auto& sample : samples) {
    Preview preview = guarded(plugin, "preview",
                              [&] { return reader_->preview(sample.second, *reader_context_); });
    check_preview(preview, who);
    if (!preview.empty()) previews.push_back(PreviewRecord{sample.first, std::move(preview)});
  }
  // Held-out members against as many generated samples as the helper trains on.
  const Batch real = select_rows(data_, split_.target_validation);
  const Batch fake = select_rows(synthetic_, range(0, n_helper_));
  const auto figures = guarded(plugin, "closeness",
                               [&] { return reader_->closeness(real, fake, *reader_context_); });
  for (const auto& c : figures) {
    check_closeness(c, who);
    metrics.push_back(MetricRecord{"generator", c.measure + ":" + c.feature, c.distance, {}, {}});
    logger_->info("generator closeness to held-out data: {} {} = {:.4f}", c.feature, c.measure,
                  c.distance);
  }
}

}  // namespace panoramia
