#pragma once
// The harness of the tests that run the built `panoramia` binary (host command-line tests, the
// data-parallel tests, the end-to-end audits of tests/e2e): where the build and the sources are,
// running the binary, temporary directories, and reading what an audit stored.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace panoramia::testing {

inline std::filesystem::path build_dir() {
  const char* dir = std::getenv("PANORAMIA_BUILD_DIR");
  return dir ? dir : PANORAMIA_TEST_BUILD_DIR;
}
inline std::filesystem::path source_dir() {
  const char* dir = std::getenv("PANORAMIA_SOURCE_DIR");
  return dir ? dir : PANORAMIA_TEST_SOURCE_DIR;
}
inline std::filesystem::path binary() {
  return build_dir() / "bin" / "panoramia";
}
inline std::filesystem::path fixture_dir(const std::string& name) {
  return build_dir() / "test-plugins" / name;
}

/// A fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("panoramia-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

/// Runs a shell command line in `cwd` (the current directory when empty): its exit code and its
/// stdout and stderr together.
inline CommandResult run_shell(const std::string& command, const std::filesystem::path& cwd = {}) {
  std::string line = cwd.empty() ? "" : "cd '" + cwd.string() + "' && ";
  line += "(" + command + ") 2>&1";
  CommandResult result;
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) result.output += buf.data();
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// Runs `args` (a shell command line, already quoted) with the panoramia binary in front.
inline CommandResult run_panoramia(const std::string& args, const std::filesystem::path& cwd = {}) {
  return run_shell("'" + binary().string() + "' " + args, cwd);
}

/// Every file named `name` below `dir`, in directory order.
inline std::vector<std::filesystem::path> find_files(const std::filesystem::path& dir,
                                                     const std::string& name) {
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.path().filename() == name) found.push_back(entry.path());
  return found;
}

/// The measurements of `run` in the results database `db`, as `panoramia export RUN --json`
/// prints them: attack -> metric name -> value (metrics without a value are left out). Empty,
/// with the reason in `error`, when the export fails or does not print a JSON object.
using StoredMetrics = std::map<std::string, std::map<std::string, double>>;
inline StoredMetrics stored_metrics(const std::filesystem::path& db, int run, std::string* error) {
  const auto exported = run_shell("'" + binary().string() + "' export " + std::to_string(run) +
                                  " --json --db '" + db.string() + "' 2>/dev/null");
  StoredMetrics metrics;
  const auto json = nlohmann::json::parse(exported.output, nullptr, false);
  if (exported.exit_code != 0 || json.is_discarded() || !json.contains("metrics")) {
    *error = "export exited with " + std::to_string(exported.exit_code) +
             " and printed: " + exported.output;
    return metrics;
  }
  for (const auto& m : json["metrics"])
    if (m["value"].is_number())
      metrics[m["attack"].get<std::string>()][m["name"].get<std::string>()] =
          m["value"].get<double>();
  return metrics;
}

/// The HTML page of `panoramia report RUN` on the database `db` (written beside it); empty, with
/// the command's output in `error`, when the report fails.
inline std::string report_page(const std::filesystem::path& db, int run, std::string* error) {
  const auto page = db.parent_path() / ("report-" + std::to_string(run) + ".html");
  const auto r = run_shell("'" + binary().string() + "' report " + std::to_string(run) + " --db '" +
                           db.string() + "' --out '" + page.string() + "'");
  if (r.exit_code != 0) {
    *error = "report exited with " + std::to_string(r.exit_code) + " and printed: " + r.output;
    return "";
  }
  return read_file(page);
}

/// A toy audit config (Gaussian vectors, MLP target overfitting, loss features, MLP attack).
inline std::string toy_config(int target_epochs = 40, const std::string& extra = "") {
  return "[audit]\nname = toy-test\nseed = 3\n\n"
         "[data]\nplugin = gaussian\nsamples = 900\ndim = 6\nclasses = 2\nseparation = 1.0\n\n"
         "[generator]\nplugin = gaussian\n\n"
         "[target]\nplugin = mlp\nhidden = 64,64\nbatch_size = 16\nepochs = " +
         std::to_string(target_epochs) +
         "\n\n[helper]\nplugin = mlp\nhidden = 16\nepochs = 5\n\n"
         "[featurizer]\nplugin = loss\n\n"
         "[attack]\nplugin = loss-threshold\n" +
         extra;
}

// The measurement rows of an audit's printed result (log lines, timings and dates left out: the
// ranks of a data-parallel audit log their lines each, the result is printed once).
inline std::string measurement_rows(const std::string& output) {
  std::string rows, line;
  std::istringstream in(output);
  while (std::getline(in, line))
    if (line.rfind("[", 0) != 0 &&
        (line.find("_pred") != std::string::npos || line.find("c_lb") != std::string::npos))
      rows += line + "\n";
  return rows;
}

}  // namespace panoramia::testing
