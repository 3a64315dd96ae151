// panoramia: the command line. Each command prints its result on stdout, logs on stderr, and exits
// 0 on success, 2 for bad input (config, files, arguments), 3 when a plugin failed, 1 otherwise.
#include <fstream>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>

#include "commands.hpp"
#include "pipeline.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"
#include "report/report.hpp"
#include "results_db.hpp"
#include "results_io.hpp"
#include "stats/report.hpp"
#include "stats/score_csv.hpp"
#include "stats/summary.hpp"

namespace po = boost::program_options;
using namespace panoramia;

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kUsage = R"(usage: panoramia <command> [options]

commands:
  audit CONFIG [--set section.key=value]... [--fresh]   run an audit (PANORAMIA)
  stats --csv FILE [--json] [--mode M] [--search S]     audit scores produced elsewhere
  runs                                                  list the runs in the results database
  show RUN                                              show one run's measurements
  export RUN --csv|--json [--out FILE]                  export a run's scores or everything
  report RUN [--out FILE]                               a self-contained HTML report with plots
  compare RUN... [--attack NAME]... [--out FILE]        several runs or attacks side by side
  plugins list | plugins show NAME                      the loaded plugins and their options
  launch -n N CONFIG [audit options]                    an audit on N local ranks (data-parallel)
  doctor                                                what this process runs on (LibTorch, BLAS,
                                                        threads, CUDA, plugins)

data-parallel on several machines: on each, panoramia audit CONFIG --world-size N --rank R
  --master HOST:PORT (HOST: rank 0's machine; every rank needs the same shared --workdir to reuse
  the stage cache).

common options: --db FILE, --workdir DIR, --plugin-path DIR (repeatable), --log-level LEVEL
run 'panoramia <command> --help' for a command's options.
)";

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("panoramia");
  logger->set_pattern("[%H:%M:%S] [%l] %v");
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw UserError("--log-level '" + level +
                    "' is not one of trace, debug, info, warn, error, critical, off");
  logger->set_level(parsed);
  return logger;
}

po::options_description common_options() {
  po::options_description o("common options");
  o.add_options()("help,h", "show this help")("db", po::value<std::string>(),
                                              "results database (default: <workdir>/results.db)")(
      "workdir", po::value<std::string>(), "work directory (default: panoramia-work)")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(),
      "extra plugin directory (repeatable)")("log-level",
                                             po::value<std::string>()->default_value("info"),
                                             "trace, debug, info, warn, error, off");
  return o;
}

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& opts,
                        const po::positional_options_description& pos) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UserError(std::string(e.what()) + " (see --help)");
  }
  return vm;
}

std::filesystem::path db_path(const po::variables_map& vm) {
  if (vm.count("db")) return vm["db"].as<std::string>();
  const std::filesystem::path workdir =
      vm.count("workdir") ? vm["workdir"].as<std::string>() : "panoramia-work";
  return workdir / "results.db";
}

// An existing database (commands that only read).
std::unique_ptr<ResultsDb> open_existing(const po::variables_map& vm) {
  const auto path = db_path(vm);
  if (!std::filesystem::exists(path))
    throw UserError("results database " + path.string() +
                    " does not exist (use --db or --workdir)");
  auto db = std::make_unique<ResultsDb>(path);
  db->mark_dead_runs_interrupted();
  return db;
}

std::int64_t run_id(const po::variables_map& vm) {
  if (!vm.count("run")) throw UserError("missing RUN (a run id; see 'panoramia runs')");
  const std::string text = vm["run"].as<std::string>();
  std::int64_t id = 0;
  if (!panoramia::detail::parse_int(text, id) || id <= 0)
    throw UserError("RUN '" + text + "' is not a run id (a positive integer)");
  return id;
}

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

int cmd_stats(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("csv", po::value<std::string>(), "scores in the reference CSV format")(
      "json", po::bool_switch(), "print JSON instead of a table")(
      "mode", po::value<std::string>()->default_value("reference"), "thresholds: reference or all")(
      "search", po::value<std::string>()->default_value("reference"),
      "bound search: reference or exact")("confidence", po::value<double>()->default_value(0.95),
                                          "joint confidence")(
      "null-permutations", po::value<int>()->default_value(-1),
      "label permutations of the null check per column (0: off; -1: 100, or 20 in all mode above "
      "20000 rows)");
  const auto vm = parse(args, opts, {});
  if (vm.count("help")) {
    std::cout << "usage: panoramia stats --csv FILE [options]\n" << opts;
    return 0;
  }
  if (!vm.count("csv")) throw UserError("missing --csv FILE");
  stats::SweepOptions options;
  const auto mode = vm["mode"].as<std::string>();
  const auto search = vm["search"].as<std::string>();
  if (mode != "reference" && mode != "all")
    throw UserError("--mode '" + mode + "' is not one of reference, all");
  if (search != "reference" && search != "exact")
    throw UserError("--search '" + search + "' is not one of reference, exact");
  options.mode = mode == "all" ? stats::ThresholdMode::kAll : stats::ThresholdMode::kReference;
  options.search = search == "exact" ? stats::BoundSearch::kExact : stats::BoundSearch::kReference;
  options.confidence = vm["confidence"].as<double>();
  if (!(options.confidence > 0 && options.confidence < 1))
    throw UserError("--confidence must lie strictly between 0 and 1, got " +
                    std::to_string(options.confidence));
  stats::CheckOptions checks;
  checks.null_permutations = vm["null-permutations"].as<int>();
  if (checks.null_permutations < -1 || checks.null_permutations > 100000)
    throw UserError("--null-permutations must be -1 (the default) or lie in [0, 100000], got " +
                    std::to_string(checks.null_permutations));
  stats::ScoreTable table;
  try {
    table = stats::read_score_csv(vm["csv"].as<std::string>());
  } catch (const std::runtime_error& e) {
    throw UserError(e.what());
  }
  const auto summary = stats::summarize(table, options, checks);
  if (vm["json"].as<bool>())
    std::cout << stats::summary_to_json(summary).dump(2) << "\n";
  else
    std::cout << stats::format_summary_text(summary);
  return 0;
}

int cmd_runs(const std::vector<std::string>& args) {
  auto opts = common_options();
  const auto vm = parse(args, opts, {});
  if (vm.count("help")) {
    std::cout << "usage: panoramia runs [--db FILE]\n" << opts;
    return 0;
  }
  const auto db = open_existing(vm);
  std::printf("%5s  %-24s %-12s %-21s %-21s %s\n", "id", "name", "status", "started", "ended",
              "error");
  for (const auto& r : db->runs())
    std::printf("%5lld  %-24s %-12s %-21s %-21s %s\n", static_cast<long long>(r.id), r.name.c_str(),
                r.status.c_str(), r.started_at.c_str(),
                r.ended_at.empty() ? "-" : r.ended_at.c_str(), r.error.c_str());
  return 0;
}

int cmd_show(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("run", po::value<std::string>(), "run id");
  po::positional_options_description pos;
  pos.add("run", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << "usage: panoramia show RUN [--db FILE]\n" << opts;
    return 0;
  }
  const auto db = open_existing(vm);
  std::cout << format_run(*db, run_id(vm));
  return 0;
}

int cmd_export(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("run", po::value<std::string>(), "run id")(
      "csv", po::bool_switch(), "the reference CSV (member, baseline_pred, mia_*_pred)")(
      "json", po::bool_switch(), "all metrics and curves as JSON")(
      "out", po::value<std::string>(), "write to FILE instead of stdout");
  po::positional_options_description pos;
  pos.add("run", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << "usage: panoramia export RUN --csv|--json [--out FILE]\n" << opts;
    return 0;
  }
  const bool csv = vm["csv"].as<bool>(), json = vm["json"].as<bool>();
  if (csv == json) throw UserError("choose one of --csv and --json");
  const auto db = open_existing(vm);
  const std::int64_t id = run_id(vm);
  db->run(id);  // a clear error for an unknown run
  std::ofstream file;
  if (vm.count("out")) {
    file.open(vm["out"].as<std::string>());
    if (!file) throw UserError("cannot write " + vm["out"].as<std::string>());
  }
  std::ostream& out = vm.count("out") ? static_cast<std::ostream&>(file) : std::cout;
  if (csv)
    write_reference_csv(db->scores(id), out);
  else
    out << run_to_json(*db, id) << "\n";
  return 0;
}

int cmd_report(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("run", po::value<std::string>(), "run id")(
      "out", po::value<std::string>(), "the HTML file (default: report-RUN.html)");
  po::positional_options_description pos;
  pos.add("run", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << "usage: panoramia report RUN [--out FILE]\n" << opts;
    return 0;
  }
  const auto db = open_existing(vm);
  const std::int64_t id = run_id(vm);
  const std::filesystem::path out =
      vm.count("out") ? vm["out"].as<std::string>() : "report-" + std::to_string(id) + ".html";
  const auto pngs = report::write_report(*db, id, std::filesystem::absolute(out));
  std::cout << "report: " << out.string() << " (" << pngs.size() << " plots as PNG";
  if (!pngs.empty()) std::cout << " in " << pngs.front().parent_path().string();
  std::cout << ")\n";
  return 0;
}

int cmd_compare(const std::vector<std::string>& args) {
  auto opts = common_options();
  opts.add_options()("runs", po::value<std::vector<std::string>>(), "run ids")(
      "attack", po::value<std::vector<std::string>>()->composing(),
      "only these score columns (e.g. baseline, mia_final; repeatable)")(
      "out", po::value<std::string>(), "also write an HTML page with overlaid curves");
  po::positional_options_description pos;
  pos.add("runs", -1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << "usage: panoramia compare RUN... [--attack NAME]... [--out FILE]\n" << opts;
    return 0;
  }
  if (!vm.count("runs")) throw UserError("compare: give at least one RUN");
  const auto db = open_existing(vm);
  std::vector<std::int64_t> runs;
  for (const auto& text : vm["runs"].as<std::vector<std::string>>()) {
    std::int64_t id = 0;
    if (!panoramia::detail::parse_int(text, id) || id <= 0)
      throw UserError("RUN '" + text + "' is not a run id (a positive integer)");
    db->run(id);
    runs.push_back(id);
  }
  std::vector<std::string> attacks;
  if (vm.count("attack")) attacks = vm["attack"].as<std::vector<std::string>>();
  std::cout << report::compare_table(*db, runs, attacks);
  if (vm.count("out")) {
    const std::filesystem::path out = vm["out"].as<std::string>();
    report::write_compare(*db, runs, attacks, std::filesystem::absolute(out));
    std::cout << "comparison page: " << out.string() << "\n";
  }
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
      std::printf("  %-22s %-10s %-22s %s\n", o.name.c_str(), option_type_name(o.type), def.c_str(),
                  o.help.c_str());
    }
  }
  return 0;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version") {
    std::cout << "panoramia " << kVersion << " (plugin API " << kApiVersion << ", LibTorch "
              << TORCH_VERSION << ")\n";
    return 0;
  }
  if (command == "audit") return cmd_audit(args);
  if (command == "stats") return cmd_stats(args);
  if (command == "runs") return cmd_runs(args);
  if (command == "show") return cmd_show(args);
  if (command == "export") return cmd_export(args);
  if (command == "report") return cmd_report(args);
  if (command == "compare") return cmd_compare(args);
  if (command == "plugins") return cmd_plugins(args);
  if (command == "launch") return cmd_launch(args, argv[0]);
  if (command == "doctor") return cmd_doctor(args);
  throw UserError("unknown command '" + command + "' (run 'panoramia --help')");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const UserError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const PluginError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
