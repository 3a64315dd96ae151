#pragma once
// The audit pipeline, modality-agnostic: data -> split -> generator -> target -> helper -> side
// signals -> baseline and MIA attacks (same plugin, options and seed; they differ only in the side
// model) -> the test game -> statistics -> results database. Every stage is cached (see
// StageCache).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "dist/communicator.hpp"
#include "stats/summary.hpp"

namespace panoramia {

struct AuditRequest {
  std::filesystem::path config_file;
  std::vector<std::string> overrides;               // --set section.key=value
  std::vector<std::filesystem::path> plugin_paths;  // --plugin-path
  bool fresh = false;                               // --fresh: ignore the cache
  std::optional<std::filesystem::path> workdir;     // --workdir
  std::optional<std::filesystem::path> db;          // --db
  dist::Options distributed;  // --world-size, --rank, --master, --dist-timeout
};

struct AuditOutcome {
  int rank = 0;  // ranks other than 0 store nothing: run is 0 and db empty for them
  std::int64_t run = 0;
  std::filesystem::path db;
  std::filesystem::path workdir;
  stats::AuditSummary summary;
};

/// Runs one audit and stores it. Errors are recorded in the run (status failed, message) and
/// rethrown; a config or plugin problem found before the run starts is thrown without a run.
AuditOutcome run_audit(const AuditRequest& request, const std::shared_ptr<spdlog::logger>& logger);

}  // namespace panoramia
