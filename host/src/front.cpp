// The `panoramia` command. Commands that need no model (--help, stats, runs, show, export, report,
// compare) run here without loading LibTorch; audit, plugins, launch, doctor and --version are
// handed to the engine library (engine.hpp), loaded on demand, after the OpenMP wait policy is
// set for it.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "engine.hpp"
#include "plugin_error.hpp"

using namespace panoramia;
using namespace panoramia::cli;

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
