// The engine: the commands that need LibTorch (audit, plugins, launch, doctor, --version) and the
// report's sample previews, in a shared library that the front end (front.cpp) loads only for
// them. Exported: two C functions, declared in engine.hpp.
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "cli/common.hpp"
#include "commands.hpp"
#include "engine.hpp"
#include "pipeline.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"
#include "report/samples.hpp"
#include "results_db.hpp"
#include "results_io.hpp"

namespace po = boost::program_options;
using namespace panoramia;

namespace {

constexpr const char* kPanoramiaVersion = "0.1.0";

using cli::common_options;
using cli::make_logger;
using cli::open_existing;
using cli::parse;
using cli::run_id;

int cmd_audit(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("config", po::value<std::string>(), "the audit config (INI)")(
      "set", po::value<std::vector<std::string>>()->composing(), "override: section.key=value")(
      "fresh", po::bool_switch(), "ignore the stage cache");
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

int cmd_plugins(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("action", po::value<std::string>(), "list or show")(
      "name", po::value<std::string>(), "plugin name (for show)");
  po::positional_options_description pos;
  pos.add("action", 1).add("name", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help") || !vm.count("action")) {
    std::cout << "usage: panoramia plugins list | plugins show NAME [--plugin-path DIR]\n" << opts;
    return vm.count("help") ? 0 : 2;
  }
  PluginRegistry registry;
  registry.load_directory(PluginRegistry::bundled_dir());
  if (vm.count("plugin-path"))
    for (const auto& p : vm["plugin-path"].as<std::vector<std::string>>())
      registry.load_directory(p);
  const std::string action = vm["action"].as<std::string>();
  const Kind kinds[] = {kDatasetReader, kGenerator, kTarget, kFeaturizer, kAttack};
  if (action == "list") {
    for (const auto& [name, p] : registry.plugins()) {
      std::string provided;
      for (Kind k : kinds)
        if (p.provides(k)) provided += (provided.empty() ? "" : ",") + std::string(kind_name(k));
      std::printf("%-22s %-8s %-34s %s\n", name.c_str(), p.version.c_str(), provided.c_str(),
                  p.path.string().c_str());
    }
    for (const auto& refusal : registry.refusals()) std::cerr << refusal << "\n";
    return 0;
  }
  if (action != "show") throw UserError("plugins: unknown action '" + action + "' (list, show)");
  if (!vm.count("name")) throw UserError("plugins show: missing NAME");
  const std::string name = vm["name"].as<std::string>();
  const auto* p = registry.find(name);
  if (p == nullptr) throw UserError("no plugin named '" + name + "' is loaded");
  std::cout << p->name << " " << p->version << "  (" << p->path.string() << ")\n"
            << p->description << "\n";
  for (Kind k : kinds) {
    if (!p->provides(k)) continue;
    std::cout << "\n" << kind_name(k) << " options:\n";
    for (const auto& o : registry.options(name, k)) {
      std::string def =
          o.required ? "(required)" : "= " + (o.default_value.empty() ? "\"\"" : o.default_value);
      const std::string help = o.range ? o.help + " (" + o.range->describe() + ")" : o.help;
      std::printf("  %-22s %-10s %-22s %s\n", o.name.c_str(), option_type_name(o.type), def.c_str(),
                  help.c_str());
    }
  }
  return 0;
}

int dispatch(int argc, char** argv) {
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--version") {
    std::cout << "panoramia " << kPanoramiaVersion << " (plugin API " << kApiVersion
              << ", LibTorch " << TORCH_VERSION << ")\n";
    return 0;
  }
  if (command == "audit") return cmd_audit(args);
  if (command == "plugins") return cmd_plugins(args);
  if (command == "launch") return cmd_launch(args, argv[0]);
  if (command == "doctor") return cmd_doctor(args);
  throw UserError("unknown command '" + command + "' (run 'panoramia --help')");
}

}  // namespace

extern "C" PANORAMIA_ENGINE_API int panoramia_engine_main(int argc, char** argv) {
  if (argc < 2) return 2;
  return cli::guarded_main([&] { return dispatch(argc, argv); });
}

extern "C" PANORAMIA_ENGINE_API char* panoramia_engine_samples(const char* db_path,
                                                               std::int64_t run) {
  // The caller frees the result with std::free; errors come back as a one-line HTML note.
  std::string html;
  try {
    const ResultsDb db(db_path, DbAccess::kReadOnly);
    html = report::samples_section(db, db.run(run));
  } catch (const std::exception& e) {
    html = "<p class=\"note\">The samples could not be drawn: " + std::string(e.what()) + "</p>\n";
  }
  char* out = static_cast<char*>(std::malloc(html.size() + 1));
  if (out != nullptr) std::memcpy(out, html.c_str(), html.size() + 1);
  return out;
}
