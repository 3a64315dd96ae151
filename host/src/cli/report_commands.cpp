// `panoramia report` and `compare`: HTML pages of one run, and several runs side by side.
#include <iostream>

#include <boost/program_options.hpp>
#include <panoramia/options.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "plugin_error.hpp"
#include "report/report.hpp"
#include "results_db.hpp"

namespace panoramia::cli {

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

}  // namespace panoramia::cli
