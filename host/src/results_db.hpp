#pragma once
// The results database: one SQLite file (WAL mode, busy timeout), every write in a transaction.
//
// Schema (version 1):
//   runs(id, name, config_file, workdir, started_at, ended_at, status, error, config, seed,
//   plugins,
//        pid, host)
//     status: running | completed | failed | interrupted
//   stages(run_id, stage, cache_key, reused, started_at, seconds)
//   metrics(run_id, attack, name, value, ci_low, ci_high)
//   scores(run_id, attack, idx, member, score)
//   curves(run_id, attack, name, data)      -- data: JSON {"x":[...],"y":[...], ...}
//   previews(run_id, role, png, data)       -- a reader's preview (role: real | generated): png a
//                                              PNG file's bytes or NULL, data JSON
//                                              {"columns":[...],"rows":[[...]],"texts":[...]}
//                                              (added to version 1: older files lack the table)

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <panoramia/preview.hpp>

namespace SQLite {
class Database;
}

namespace panoramia {

struct RunRecord {
  std::int64_t id = 0;
  std::string name;
  std::string config_file;
  std::string workdir;
  std::string started_at;
  std::string ended_at;
  std::string status;
  std::string error;
  std::string config;
  std::int64_t seed = 0;
  std::string plugins;  // JSON object name -> version
};

struct StageRecord {
  std::string stage;
  std::string cache_key;
  bool reused = false;
  std::string started_at;
  double seconds = 0;
};

struct MetricRecord {
  std::string attack;
  std::string name;
  double value = 0;
  std::optional<double> ci_low;
  std::optional<double> ci_high;
};

struct ScoreColumn {
  std::string attack;
  std::vector<int> member;
  std::vector<double> score;
};

struct CurveRecord {
  std::string attack;
  std::string name;
  std::string data;  // JSON
};

/// A reader's preview of a few real or generated samples.
struct PreviewRecord {
  std::string role;  // "real" or "generated"
  Preview preview;
};

/// How a command uses the database: an audit writes (and creates the file and schema); the
/// commands that only read (`runs`, `show`, `export`, `report`, `compare`) open it read-only and
/// change nothing, not even the journal mode, and refuse a file without panoramia's schema.
enum class DbAccess { kReadWrite, kReadOnly };

class ResultsDb {
 public:
  /// Opens the database at `path` (read-write: creating it and its schema if needed); throws
  /// UserError naming the file, also for a file whose tables are not panoramia's.
  explicit ResultsDb(const std::filesystem::path& path, DbAccess access = DbAccess::kReadWrite);
  ~ResultsDb();

  /// Marks runs left `running` by a process that no longer exists (killed) as interrupted;
  /// read-only, they are reported as interrupted without a write. Returns how many.
  int mark_dead_runs_interrupted();
  std::int64_t begin_run(const std::string& name, const std::string& config_file,
                         const std::string& config, std::int64_t seed, const std::string& plugins,
                         const std::string& workdir = "");
  void record_stage(std::int64_t run, const StageRecord& stage);
  /// Stores all results of a run atomically.
  void store_results(std::int64_t run, const std::vector<MetricRecord>& metrics,
                     const std::vector<ScoreColumn>& scores, const std::vector<CurveRecord>& curves,
                     const std::vector<PreviewRecord>& previews = {});
  void finish_run(std::int64_t run, const std::string& status, const std::string& error = "");
  /// Marks the run interrupted with `error`, unless it has already ended.
  void interrupt_run(std::int64_t run, const std::string& error);

  std::vector<RunRecord> runs() const;
  /// The run `id`; throws UserError when there is none.
  RunRecord run(std::int64_t id) const;
  std::vector<StageRecord> stages(std::int64_t run) const;
  std::vector<MetricRecord> metrics(std::int64_t run) const;
  std::vector<ScoreColumn> scores(std::int64_t run) const;
  std::vector<CurveRecord> curves(std::int64_t run) const;
  /// The run's previews (none in a file written before they were stored). Throws naming the run
  /// when a stored preview is not the JSON this program writes.
  std::vector<PreviewRecord> previews(std::int64_t run) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  void check_schema();
  std::vector<std::int64_t> dead_runs() const;

  std::filesystem::path path_;
  DbAccess access_;
  std::unique_ptr<SQLite::Database> db_;
  bool has_workdir_ = true;             // false in databases written before runs.workdir existed
  bool has_previews_ = true;            // false in databases written before previews were stored
  std::set<std::int64_t> interrupted_;  // read-only: runs of dead processes, reported interrupted
};

/// Current UTC time as ISO 8601.
std::string utc_now();

}  // namespace panoramia
