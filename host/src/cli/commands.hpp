#pragma once
// The subcommands of `panoramia`, one translation unit each (host/src/cli/*_command.cpp). The
// front end (front.cpp, no LibTorch) runs stats, runs, show, export, report and compare; the
// engine library (engine_main.cpp) runs audit, plugins, launch and doctor. Each takes the
// arguments after its name and returns the exit code (errors are thrown: cli/common.hpp).

#include <string>
#include <vector>

namespace panoramia::cli {

// Front end.

/// `panoramia stats --csv FILE`: the audit of scores produced elsewhere.
int cmd_stats(const std::vector<std::string>& args);
/// `panoramia runs`: the runs of the results database.
int cmd_runs(const std::vector<std::string>& args);
/// `panoramia show RUN`: one run's measurements as text.
int cmd_show(const std::vector<std::string>& args);
/// `panoramia export RUN --csv|--json`: a run's scores (the reference CSV) or everything (JSON).
int cmd_export(const std::vector<std::string>& args);
/// `panoramia report RUN`: the run's self-contained HTML page.
int cmd_report(const std::vector<std::string>& args);
/// `panoramia compare RUN...`: several runs side by side (and a page with `--out`).
int cmd_compare(const std::vector<std::string>& args);

// Engine.

/// `panoramia audit CONFIG`: one audit, or one rank of a data-parallel one.
int cmd_audit(const std::vector<std::string>& args);
/// `panoramia plugins list|show NAME`: the loaded plugins and their options.
int cmd_plugins(const std::vector<std::string>& args);
/// `panoramia launch -n N CONFIG [audit options]`: starts N local ranks of `panoramia audit` on a
/// free loopback port and waits; when one fails, the others get a grace period to fail on their
/// own, then are stopped. Returns the first failing rank's exit code, or 0.
int cmd_launch(const std::vector<std::string>& args, const char* argv0);
/// `panoramia doctor`: what this process actually runs on (LibTorch, BLAS, threads, CUDA,
/// plugins). Exits 1 when something would make audits slow or impossible.
int cmd_doctor(const std::vector<std::string>& args);

}  // namespace panoramia::cli
