#include "results_db.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "plugin_error.hpp"

namespace panoramia {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 10000;
constexpr const char* kInterruptedError = "the process stopped before the run finished";

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  config_file TEXT NOT NULL,
  workdir TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  ended_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('running','completed','failed','interrupted')),
  error TEXT,
  config TEXT NOT NULL,
  seed INTEGER NOT NULL,
  plugins TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  stage TEXT NOT NULL,
  cache_key TEXT NOT NULL,
  reused INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  attack TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  ci_low REAL,
  ci_high REAL,
  PRIMARY KEY (run_id, attack, name));
CREATE TABLE IF NOT EXISTS scores (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  attack TEXT NOT NULL,
  idx INTEGER NOT NULL,
  member INTEGER NOT NULL,
  score REAL NOT NULL,
  PRIMARY KEY (run_id, attack, idx));
CREATE TABLE IF NOT EXISTS curves (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  attack TEXT NOT NULL,
  name TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, attack, name));
CREATE TABLE IF NOT EXISTS previews (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  role TEXT NOT NULL,
  png BLOB,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, role));
)sql";

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

bool process_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Runs a write; an SQLite error (a full disk, a locked or read-only file) becomes one sentence
// naming the database file and what was being written.
template <class Write>
auto write_or_explain(const std::filesystem::path& file, const std::string& what, Write&& write) {
  try {
    return write();
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("results database " + file.string() + ": cannot " + what + ": " +
                             e.what());
  }
}

std::string column_text(SQLite::Statement& q, int i) {
  return q.getColumn(i).isNull() ? "" : q.getColumn(i).getString();
}

}  // namespace

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ResultsDb::ResultsDb(const std::filesystem::path& path, DbAccess access)
    : path_(path), access_(access) {
  try {
    if (access == DbAccess::kReadOnly) {
      db_ = std::make_unique<SQLite::Database>(path.string(), SQLite::OPEN_READONLY);
      db_->setBusyTimeout(kBusyTimeoutMs);
      check_schema();
      return;
    }
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    db_ = std::make_unique<SQLite::Database>(path.string(),
                                             SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->setBusyTimeout(kBusyTimeoutMs);
    {
      // A file with tables of its own is refused before anything is written to it.
      SQLite::Statement tables(*db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
      tables.executeStep();
      if (tables.getColumn(0).getInt() > 0) check_schema();
    }
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec("PRAGMA foreign_keys=ON");
    SQLite::Transaction tx(*db_);
    db_->exec(kSchema);
    // Databases written before runs.workdir existed get the column (empty for their runs).
    if (!has_workdir_) db_->exec("ALTER TABLE runs ADD COLUMN workdir TEXT NOT NULL DEFAULT ''");
    has_workdir_ = true;
    has_previews_ = true;
    const int version = db_->execAndGet("PRAGMA user_version").getInt();
    if (version == 0) db_->exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
    tx.commit();
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    throw UserError("cannot open results database " + path.string() + ": " + e.what());
  }
}

// The tables and columns this panoramia reads and writes, and the schema version: a file that
// lacks them is another program's database, refused without a write.
void ResultsDb::check_schema() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kColumns = {
      {"runs",
       {"id", "name", "config_file", "started_at", "ended_at", "status", "error", "config", "seed",
        "plugins", "pid", "host"}},
      {"stages", {"run_id", "stage", "cache_key", "reused", "started_at", "seconds"}},
      {"metrics", {"run_id", "attack", "name", "value", "ci_low", "ci_high"}},
      {"scores", {"run_id", "attack", "idx", "member", "score"}},
      {"curves", {"run_id", "attack", "name", "data"}},
  };
  const std::string file = path_.string();
  for (const auto& [table, wanted] : kColumns) {
    std::set<std::string> have;
    SQLite::Statement q(*db_, "SELECT name FROM pragma_table_info(?)");
    q.bind(1, table);
    while (q.executeStep()) have.insert(q.getColumn(0).getString());
    if (have.empty())
      throw UserError("results database " + file + " is not a panoramia results database: it has " +
                      "no '" + table + "' table");
    for (const auto& column : wanted)
      if (!have.count(column))
        throw UserError("results database " + file + " is not a panoramia results database: its '" +
                        table + "' table has no '" + column + "' column");
    if (table == "runs") has_workdir_ = have.count("workdir") > 0;
  }
  // An optional table (files from before it existed lack it); when present, it must be ours.
  std::set<std::string> preview_columns;
  SQLite::Statement q(*db_, "SELECT name FROM pragma_table_info('previews')");
  while (q.executeStep()) preview_columns.insert(q.getColumn(0).getString());
  has_previews_ = !preview_columns.empty();
  for (const std::string column : {"run_id", "role", "png", "data"})
    if (has_previews_ && !preview_columns.count(column))
      throw UserError("results database " + file + " is not a panoramia results database: its " +
                      "'previews' table has no '" + column + "' column");
  const int version = db_->execAndGet("PRAGMA user_version").getInt();
  if (version != kSchemaVersion && !(version == 0 && access_ == DbAccess::kReadWrite))
    throw UserError("results database " + file + " has schema version " + std::to_string(version) +
                    ", this panoramia uses version " + std::to_string(kSchemaVersion));
}

ResultsDb::~ResultsDb() = default;

std::vector<std::int64_t> ResultsDb::dead_runs() const {
  SQLite::Statement q(*db_, "SELECT id, pid, host FROM runs WHERE status = 'running'");
  std::vector<std::int64_t> dead;
  const std::string me = host_name();
  while (q.executeStep()) {
    const std::int64_t pid = q.getColumn(1).getInt64();
    if (q.getColumn(2).getString() == me && !process_alive(pid)) dead.push_back(q.getColumn(0));
  }
  return dead;
}

int ResultsDb::mark_dead_runs_interrupted() {
  const auto dead = dead_runs();
  if (access_ == DbAccess::kReadOnly) {
    interrupted_.insert(dead.begin(), dead.end());
  } else {
    for (const auto id : dead) interrupt_run(id, kInterruptedError);
  }
  return static_cast<int>(dead.size());
}

std::int64_t ResultsDb::begin_run(const std::string& name, const std::string& config_file,
                                  const std::string& config, std::int64_t seed,
                                  const std::string& plugins, const std::string& workdir) {
  return write_or_explain(path_, "record the start of run '" + name + "'", [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(
        *db_,
        "INSERT INTO runs (name, config_file, started_at, status, config, seed, "
        "plugins, pid, host, workdir) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)");
    q.bind(1, name);
    q.bind(2, config_file);
    q.bind(3, utc_now());
    q.bind(4, config);
    q.bind(5, seed);
    q.bind(6, plugins);
    q.bind(7, static_cast<std::int64_t>(getpid()));
    q.bind(8, host_name());
    q.bind(9, workdir);
    q.exec();
    const std::int64_t id = db_->getLastInsertRowid();
    tx.commit();
    return id;
  });
}

void ResultsDb::record_stage(std::int64_t run, const StageRecord& stage) {
  return write_or_explain(
      path_, "record stage " + stage.stage + " of run " + std::to_string(run), [&] {
        SQLite::Transaction tx(*db_);
        SQLite::Statement q(
            *db_,
            "INSERT INTO stages (run_id, stage, cache_key, reused, started_at, seconds) "
            "VALUES (?, ?, ?, ?, ?, ?)");
        q.bind(1, run);
        q.bind(2, stage.stage);
        q.bind(3, stage.cache_key);
        q.bind(4, stage.reused ? 1 : 0);
        q.bind(5, stage.started_at);
        q.bind(6, stage.seconds);
        q.exec();
        tx.commit();
      });
}

void ResultsDb::store_results(std::int64_t run, const std::vector<MetricRecord>& metrics,
                              const std::vector<ScoreColumn>& scores,
                              const std::vector<CurveRecord>& curves,
                              const std::vector<PreviewRecord>& previews) {
  return write_or_explain(path_, "store the results of run " + std::to_string(run), [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement m(*db_,
                        "INSERT INTO metrics (run_id, attack, name, value, ci_low, ci_high) "
                        "VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& metric : metrics) {
      m.bind(1, run);
      m.bind(2, metric.attack);
      m.bind(3, metric.name);
      m.bind(4, metric.value);
      metric.ci_low ? m.bind(5, *metric.ci_low) : m.bind(5);
      metric.ci_high ? m.bind(6, *metric.ci_high) : m.bind(6);
      m.exec();
      m.reset();
    }
    SQLite::Statement s(
        *db_, "INSERT INTO scores (run_id, attack, idx, member, score) VALUES (?, ?, ?, ?, ?)");
    for (const auto& column : scores) {
      for (std::size_t i = 0; i < column.score.size(); ++i) {
        s.bind(1, run);
        s.bind(2, column.attack);
        s.bind(3, static_cast<std::int64_t>(i));
        s.bind(4, column.member[i]);
        s.bind(5, column.score[i]);
        s.exec();
        s.reset();
      }
    }
    SQLite::Statement c(*db_,
                        "INSERT INTO curves (run_id, attack, name, data) VALUES (?, ?, ?, ?)");
    for (const auto& curve : curves) {
      c.bind(1, run);
      c.bind(2, curve.attack);
      c.bind(3, curve.name);
      c.bind(4, curve.data);
      c.exec();
      c.reset();
    }
    SQLite::Statement p(*db_, "INSERT INTO previews (run_id, role, png, data) VALUES (?, ?, ?, ?)");
    for (const auto& record : previews) {
      const Preview& preview = record.preview;
      p.bind(1, run);
      p.bind(2, record.role);
      preview.png.empty() ? p.bind(3)
                          : p.bind(3, preview.png.data(), static_cast<int>(preview.png.size()));
      p.bind(4,
             nlohmann::json{
                 {"columns", preview.columns}, {"rows", preview.rows}, {"texts", preview.texts}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      p.exec();
      p.reset();
    }
    tx.commit();
  });
}

void ResultsDb::finish_run(std::int64_t run, const std::string& status, const std::string& error) {
  return write_or_explain(path_, "mark run " + std::to_string(run) + " " + status, [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_, "UPDATE runs SET status=?, error=?, ended_at=? WHERE id=?");
    q.bind(1, status);
    error.empty() ? q.bind(2) : q.bind(2, error);
    q.bind(3, utc_now());
    q.bind(4, run);
    q.exec();
    tx.commit();
  });
}

void ResultsDb::interrupt_run(std::int64_t run, const std::string& error) {
  return write_or_explain(path_, "mark run " + std::to_string(run) + " interrupted", [&] {
    SQLite::Transaction tx(*db_);
    SQLite::Statement q(*db_,
                        "UPDATE runs SET status='interrupted', error=?, ended_at=? "
                        "WHERE id=? AND status='running'");
    q.bind(1, error);
    q.bind(2, utc_now());
    q.bind(3, run);
    q.exec();
    tx.commit();
  });
}

std::vector<RunRecord> ResultsDb::runs() const {
  std::vector<RunRecord> out;
  SQLite::Statement q(*db_, std::string("SELECT id, name, config_file, started_at, ended_at, "
                                        "status, error, config, seed, plugins, ") +
                                (has_workdir_ ? "workdir" : "''") + " FROM runs ORDER BY id");
  while (q.executeStep()) {
    RunRecord r;
    r.id = q.getColumn(0).getInt64();
    r.name = column_text(q, 1);
    r.config_file = column_text(q, 2);
    r.started_at = column_text(q, 3);
    r.ended_at = column_text(q, 4);
    r.status = column_text(q, 5);
    r.error = column_text(q, 6);
    r.config = column_text(q, 7);
    r.seed = q.getColumn(8).getInt64();
    r.plugins = column_text(q, 9);
    r.workdir = column_text(q, 10);
    if (r.status == "running" && interrupted_.count(r.id)) {
      r.status = "interrupted";
      r.error = kInterruptedError;
    }
    out.push_back(std::move(r));
  }
  return out;
}

RunRecord ResultsDb::run(std::int64_t id) const {
  for (auto& r : runs())
    if (r.id == id) return r;
  throw UserError("there is no run " + std::to_string(id) + " in " + path_.string());
}

std::vector<StageRecord> ResultsDb::stages(std::int64_t run) const {
  std::vector<StageRecord> out;
  SQLite::Statement q(*db_,
                      "SELECT stage, cache_key, reused, started_at, seconds FROM stages "
                      "WHERE run_id=? ORDER BY rowid");
  q.bind(1, run);
  while (q.executeStep()) {
    out.push_back(StageRecord{column_text(q, 0), column_text(q, 1), q.getColumn(2).getInt() != 0,
                              column_text(q, 3), q.getColumn(4).getDouble()});
  }
  return out;
}

std::vector<MetricRecord> ResultsDb::metrics(std::int64_t run) const {
  std::vector<MetricRecord> out;
  SQLite::Statement q(*db_,
                      "SELECT attack, name, value, ci_low, ci_high FROM metrics WHERE run_id=? "
                      "ORDER BY rowid");
  q.bind(1, run);
  while (q.executeStep()) {
    MetricRecord m;
    m.attack = column_text(q, 0);
    m.name = column_text(q, 1);
    m.value = q.getColumn(2).getDouble();
    if (!q.getColumn(3).isNull()) m.ci_low = q.getColumn(3).getDouble();
    if (!q.getColumn(4).isNull()) m.ci_high = q.getColumn(4).getDouble();
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<ScoreColumn> ResultsDb::scores(std::int64_t run) const {
  std::vector<ScoreColumn> out;
  std::map<std::string, std::size_t> index;
  SQLite::Statement q(*db_,
                      "SELECT attack, member, score FROM scores WHERE run_id=? ORDER BY rowid");
  q.bind(1, run);
  while (q.executeStep()) {
    const std::string attack = column_text(q, 0);
    auto it = index.find(attack);
    if (it == index.end()) {
      it = index.emplace(attack, out.size()).first;
      out.push_back(ScoreColumn{attack, {}, {}});
    }
    out[it->second].member.push_back(q.getColumn(1).getInt());
    out[it->second].score.push_back(q.getColumn(2).getDouble());
  }
  return out;
}

std::vector<CurveRecord> ResultsDb::curves(std::int64_t run) const {
  std::vector<CurveRecord> out;
  SQLite::Statement q(*db_, "SELECT attack, name, data FROM curves WHERE run_id=? ORDER BY rowid");
  q.bind(1, run);
  while (q.executeStep()) out.push_back({column_text(q, 0), column_text(q, 1), column_text(q, 2)});
  return out;
}

std::vector<PreviewRecord> ResultsDb::previews(std::int64_t run) const {
  std::vector<PreviewRecord> out;
  if (!has_previews_) return out;
  SQLite::Statement q(*db_, "SELECT role, png, data FROM previews WHERE run_id=? ORDER BY rowid");
  q.bind(1, run);
  while (q.executeStep()) {
    PreviewRecord record{column_text(q, 0), {}};
    const auto png = q.getColumn(1);
    if (png.isBlob() || png.isText())
      record.preview.png.assign(static_cast<const char*>(png.getBlob()),
                                static_cast<std::size_t>(png.getBytes()));
    // Stored strings are untrusted: every field is checked for its type before it is read.
    const auto refuse = [&](const std::string& what) {
      return UserError("results database " + path_.string() + ": run " + std::to_string(run) +
                       " has a " + record.role + " preview whose " + what);
    };
    const auto data = nlohmann::json::parse(column_text(q, 2), nullptr, false);
    if (!data.is_object()) throw refuse("data is not a JSON object");
    const auto strings = [&](const nlohmann::json& j, const std::string& what) {
      if (!j.is_array()) throw refuse(what + " is not a list");
      std::vector<std::string> list;
      for (const auto& v : j) list.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      return list;
    };
    const auto field = [&](const char* key) {
      return data.contains(key) ? data.at(key) : nlohmann::json::array();
    };
    record.preview.columns = strings(field("columns"), "columns");
    record.preview.texts = strings(field("texts"), "texts");
    const auto rows = field("rows");
    if (!rows.is_array()) throw refuse("rows are not a list");
    for (const auto& row : rows) record.preview.rows.push_back(strings(row, "row"));
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace panoramia
