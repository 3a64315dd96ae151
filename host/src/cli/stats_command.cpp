// `panoramia stats`: the audit of scores produced elsewhere (a CSV in the reference format).
#include <iostream>

#include <boost/program_options.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "plugin_error.hpp"
#include "stats/report.hpp"
#include "stats/score_csv.hpp"
#include "stats/summary.hpp"

namespace panoramia::cli {

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
  try {
    options.mode = stats::parse_threshold_mode(vm["mode"].as<std::string>(), "--mode");
    options.search = stats::parse_bound_search(vm["search"].as<std::string>(), "--search");
  } catch (const std::invalid_argument& e) {
    throw UserError(e.what());
  }
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

}  // namespace panoramia::cli
