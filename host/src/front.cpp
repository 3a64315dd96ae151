// The `panoramia` command. Commands that need no model (--help, stats, runs, show, export, report,
// compare) run here without loading LibTorch; audit, plugins, launch, doctor and --version are
// handed to the engine library (engine.hpp), loaded on demand, after the OpenMP wait policy is
// set for it.
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <panoramia/options.hpp>

#include "cli/common.hpp"
#include "engine.hpp"
#include "plugin_error.hpp"
#include "report/report.hpp"
#include "results_db.hpp"
#include "results_io.hpp"
#include "stats/report.hpp"
#include "stats/score_csv.hpp"
#include "stats/summary.hpp"

namespace po = boost::program_options;
using namespace panoramia;

namespace {

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

using cli::common_options;
using cli::make_logger;
using cli::open_existing;
using cli::parse;
using cli::run_id;

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
  const auto pngs = report::write_report(*db, id, std::filesystem::absolute(out),
                                         engine::samples_renderer(cli::db_path(vm)));
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
  if (command == "stats") return cmd_stats(args);
  if (command == "runs") return cmd_runs(args);
  if (command == "show") return cmd_show(args);
  if (command == "export") return cmd_export(args);
  if (command == "report") return cmd_report(args);
  if (command == "compare") return cmd_compare(args);
  if (command == "audit" || command == "plugins" || command == "launch" || command == "doctor" ||
      command == "--version")
    return engine::run(argc, argv);
  throw UserError("unknown command '" + command + "' (run 'panoramia --help')");
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main([&] { return dispatch(argc, argv); });
}
