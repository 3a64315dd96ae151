#include "pipeline.hpp"

#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <thread>

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "audit_pipeline.hpp"
#include "dist/communicator.hpp"
#include "interrupt_guard.hpp"
#include "plugin_error.hpp"
#include "repetitions.hpp"
#include "results_db.hpp"
#include "results_io.hpp"
#include "threads.hpp"

namespace panoramia {

AuditOutcome run_audit(const AuditRequest& request, const std::shared_ptr<spdlog::logger>& logger) {
  RawConfig raw = RawConfig::load(request.config_file);
  for (const auto& assignment : request.overrides) raw.apply_override(assignment);

  PluginRegistry registry;
  registry.load_directory(PluginRegistry::bundled_dir());
  for (const auto& dir : request.plugin_paths) registry.load_directory(dir);
  for (const auto& dir : config_plugin_paths(raw)) registry.load_directory(dir);
  for (const auto& refusal : registry.refusals()) logger->warn("{}", refusal);

  const ResolvedConfig config = resolve(raw, registry);
  const auto& audit = config.section("audit").host;
  const std::filesystem::path workdir =
      request.workdir ? *request.workdir : std::filesystem::path(audit.get_string("workdir"));
  std::filesystem::path db_path =
      request.db ? *request.db : std::filesystem::path(audit.get_string("db"));
  if (db_path.empty()) db_path = workdir / "results.db";
  std::filesystem::create_directories(workdir);

  const ThreadPolicy threads = thread_policy(audit.get_int("threads"));
  set_threads(threads.stage_threads);
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  const char* wait_source = std::getenv("PANORAMIA_OMP_WAIT_POLICY_SOURCE");
  logger->info(
      "threads: {} intra-op (OpenBLAS alike){}; OMP_WAIT_POLICY {}{}", threads.stage_threads,
      threads.fixed ? " from [audit] threads"
                    : fmt::format(", 1 for loops whose steps are below {:.0f} MFLOP",
                                  kParallelStepFlops / 1e6),
      wait != nullptr ? wait : "unset", wait_source ? std::string(", from ") + wait_source : "");

  // Every rank resolves the config first, so that a bad config fails at once on every rank.
  dist::Options distributed = request.distributed;
  const c10::Device device = AuditPipeline::device_for(config, distributed.local_rank);
  if (device.is_cuda()) distributed.cuda_device = device.index();
  const auto communicator = dist::connect(distributed);
  const int rank = communicator->rank();
  if (communicator->world_size() > 1) {
    const int local = request.distributed.local_rank;
    logger->info("rank {} of {} joined at {}:{}{}; {} intra-op thread(s)", rank,
                 communicator->world_size(), request.distributed.master_host,
                 request.distributed.master_port,
                 local >= 0 ? fmt::format(" (local rank {})", local) : std::string(),
                 torch::get_num_threads());
  }
  if (rank != 0) {
    // Ranks other than 0 train their shards and compute what rank 0 computes, but write neither
    // the cache nor the results database.
    StageCache cache(workdir / "cache", request.fresh, logger, nullptr, 0);
    cache.set_ranks(communicator.get(), workdir / "ranks" / std::to_string(rank) / "cache");
    AuditPipeline pipeline(config, registry, workdir, cache, logger, *communicator, threads,
                           device);
    AuditRecords records;
    AuditOutcome outcome;
    outcome.rank = rank;
    outcome.summary = pipeline.run(records);
    outcome.workdir = workdir;
    return outcome;
  }

  nlohmann::json plugins = nlohmann::json::object();
  for (const auto& [name, section] : config.sections_) {
    if (section.plugin.empty()) continue;
    const auto* p = registry.find(section.plugin);
    plugins[name] = {{"plugin", section.plugin}, {"version", p ? p->version : ""}};
  }
  std::string name = audit.get_string("name");
  if (name.empty()) name = request.config_file.stem().string();

  ResultsDb db(db_path);
  if (const int dead = db.mark_dead_runs_interrupted(); dead > 0)
    logger->warn("marked {} earlier run(s) that stopped before finishing as interrupted", dead);
  const std::int64_t run =
      db.begin_run(name, request.config_file.string(), config.to_ini(), audit.get_int("seed"),
                   plugins.dump(), std::filesystem::absolute(workdir).string());
  logger->info("run {} started; results database {}", run, db_path.string());
  const InterruptGuard interrupt_guard(db_path, run, logger);
  try {
    StageCache cache(workdir / "cache", request.fresh, logger, &db, run);
    cache.set_ranks(communicator.get(), workdir / "ranks" / "0" / "cache");
    AuditPipeline pipeline(config, registry, workdir, cache, logger, *communicator, threads,
                           device);
    AuditRecords records;
    AuditOutcome outcome;
    outcome.summary = pipeline.run(records);
    std::vector<MetricRecord> metrics = std::move(records.metrics);
    for (auto& m : summary_metrics(outcome.summary)) metrics.push_back(std::move(m));
    const auto& repeat = config.section("repeat").host;
    for (auto& m : repetition_metrics(records.repetitions, repeat.get_int("target_seeds"),
                                      repeat.get_int("game_seeds")))
      metrics.push_back(std::move(m));
    std::vector<CurveRecord> curves = summary_curves(outcome.summary);
    for (auto& c : records.curves) curves.push_back(std::move(c));
    db.store_results(run, metrics, records.scores, curves, records.previews);
    db.finish_run(run, "completed");
    outcome.run = run;
    outcome.db = db_path;
    outcome.workdir = workdir;
    return outcome;
  } catch (const std::exception& e) {
    db.finish_run(run, "failed", e.what());
    throw;
  }
}

}  // namespace panoramia
