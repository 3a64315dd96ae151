#include "cli/common.hpp"

#include <iostream>
#include <typeinfo>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <panoramia/options.hpp>

#include "plugin_error.hpp"

namespace panoramia::cli {

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
  // A path given as '' would fall back to the current directory (or fail deep inside).
  for (const char* path_option : {"workdir", "db", "out", "csv"}) {
    if (!vm.count(path_option)) continue;
    const auto& value = vm[path_option].value();
    if (value.type() == typeid(std::string) && boost::any_cast<std::string>(value).empty())
      throw UserError(std::string("--") + path_option + " must not be empty");
  }
  return vm;
}

std::filesystem::path db_path(const po::variables_map& vm) {
  if (vm.count("db")) return vm["db"].as<std::string>();
  const std::filesystem::path workdir =
      vm.count("workdir") ? vm["workdir"].as<std::string>() : "panoramia-work";
  return workdir / "results.db";
}

std::unique_ptr<ResultsDb> open_existing(const po::variables_map& vm) {
  const auto path = db_path(vm);
  if (!std::filesystem::exists(path))
    throw UserError("results database " + path.string() +
                    " does not exist (use --db or --workdir)");
  auto db = std::make_unique<ResultsDb>(path, DbAccess::kReadOnly);
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

int guarded_main(const std::function<int()>& command) {
  try {
    return command();
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

}  // namespace panoramia::cli
