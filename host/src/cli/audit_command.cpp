// `panoramia audit`: one audit (or one rank of a data-parallel audit) from a config file.
#include <iostream>

#include <spdlog/spdlog.h>

#include <panoramia/plugin.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "pipeline.hpp"
#include "plugin_error.hpp"
#include "results_db.hpp"
#include "results_io.hpp"

namespace panoramia::cli {

int cmd_audit(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("config", po::value<std::string>(), "the audit config (INI)")(
      "set", po::value<std::vector<std::string>>()->composing(), "override: section.key=value")(
      "fresh", po::bool_switch(), "ignore the stage cache")(
      "attacks", po::value<std::string>(),
      "more attacks to run beside [attack], comma-separated (sets [attacks] list)");
  po::options_description ranks("data-parallel training (one command per rank)");
  ranks.add_options()("world-size", po::value<int>()->default_value(1), "number of ranks")(
      "rank", po::value<int>()->default_value(0), "this process's rank, 0..world-size-1")(
      "master", po::value<std::string>(), "HOST:PORT of rank 0's rendezvous store")(
      "dist-timeout", po::value<double>()->default_value(300),
      "seconds before a rendezvous or collective gives up (a rank died or hangs)");
  opts.add(ranks);
  po::positional_options_description pos;
  pos.add("config", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << "usage: panoramia audit CONFIG [options]\n" << opts;
    return 0;
  }
  AuditRequest request;
  request.distributed.world_size = vm["world-size"].as<int>();
  request.distributed.rank = vm["rank"].as<int>();
  const double timeout = vm["dist-timeout"].as<double>();
  if (!(timeout > 0)) throw UserError("--dist-timeout must be a positive number of seconds");
  request.distributed.timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
  try {
    request.distributed.local_rank = dist::local_rank();
    if (vm.count("master")) dist::parse_master(vm["master"].as<std::string>(), request.distributed);
    if (request.distributed.world_size > 1 && !vm.count("master"))
      throw std::invalid_argument("--world-size > 1 needs --master HOST:PORT (rank 0's address)");
    if (request.distributed.world_size < 1)
      throw std::invalid_argument("--world-size must be at least 1");
    if (request.distributed.rank < 0 || request.distributed.rank >= request.distributed.world_size)
      throw std::invalid_argument("--rank " + std::to_string(request.distributed.rank) +
                                  " is not in 0.." +
                                  std::to_string(request.distributed.world_size - 1));
  } catch (const std::invalid_argument& e) {
    throw UserError(e.what());
  }
  if (!vm.count("config")) throw UserError("missing CONFIG (see 'panoramia audit --help')");
  auto logger = make_logger(vm["log-level"].as<std::string>());
  if (request.distributed.world_size > 1)
    logger->set_pattern("[%H:%M:%S] [rank " + std::to_string(request.distributed.rank) +
                        "] [%l] %v");
  request.config_file = vm["config"].as<std::string>();
  if (vm.count("set")) request.overrides = vm["set"].as<std::vector<std::string>>();
  if (vm.count("attacks"))
    request.overrides.push_back("attacks.list=" + vm["attacks"].as<std::string>());
  if (vm.count("plugin-path"))
    for (const auto& p : vm["plugin-path"].as<std::vector<std::string>>())
      request.plugin_paths.emplace_back(p);
  request.fresh = vm["fresh"].as<bool>();
  if (vm.count("workdir")) request.workdir = vm["workdir"].as<std::string>();
  if (vm.count("db")) request.db = vm["db"].as<std::string>();
  const AuditOutcome outcome = run_audit(request, logger);
  if (outcome.rank != 0) {
    logger->info("rank {} finished; rank 0 stores the results", outcome.rank);
    return 0;
  }
  const ResultsDb db(outcome.db);
  std::cout << format_run(db, outcome.run);
  std::cout << "\nresults: run " << outcome.run << " in " << outcome.db.string()
            << "  (panoramia show " << outcome.run << " --db " << outcome.db.string() << ")\n";
  return 0;
}

}  // namespace panoramia::cli
