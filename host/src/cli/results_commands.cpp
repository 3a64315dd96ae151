// `panoramia runs`, `show` and `export`: the results database as text, CSV and JSON.
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "plugin_error.hpp"
#include "results_db.hpp"
#include "results_io.hpp"

namespace panoramia::cli {

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

}  // namespace panoramia::cli
