#pragma once
// What every command of the command line shares: the common options, parsing, the results
// database of read-only commands, and the mapping of errors to exit codes. No LibTorch: the front
// end (`panoramia`) and the engine library both use it.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "results_db.hpp"

namespace spdlog {
class logger;
}

namespace panoramia::cli {

namespace po = boost::program_options;

/// --help, --db, --workdir, --plugin-path, --log-level.
po::options_description common_options();

/// Parses `args`; a parse error becomes a UserError naming the option.
po::variables_map parse(const std::vector<std::string>& args, const po::options_description& opts,
                        const po::positional_options_description& pos);

/// --db, or <--workdir or panoramia-work>/results.db.
std::filesystem::path db_path(const po::variables_map& vm);

/// The existing database of a read-only command; a UserError when it does not exist.
std::unique_ptr<ResultsDb> open_existing(const po::variables_map& vm);

/// The positional RUN as a positive run id.
std::int64_t run_id(const po::variables_map& vm);

/// The "panoramia" stderr logger at `level` (a UserError for an unknown level).
std::shared_ptr<spdlog::logger> make_logger(const std::string& level);

/// Runs a command and maps what it throws to the exit codes of the README: 2 bad input
/// (UserError), 3 a plugin failed (PluginError), 1 anything else; the message goes to stderr as
/// one "error: ..." line.
int guarded_main(const std::function<int()>& command);

}  // namespace panoramia::cli
