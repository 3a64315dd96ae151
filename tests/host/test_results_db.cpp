// The results database: schema, transactions, interrupted runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <SQLiteCpp/SQLiteCpp.h>

#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "batch_io.hpp"
#include "plugin_error.hpp"
#include "results_db.hpp"
#include "results_io.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

TEST(ResultsDb, StoresAndReadsBackARun) {
  testing::TempDir dir;
  ResultsDb db(dir / "r.db");
  const auto id = db.begin_run("toy", "toy.ini", "[audit]\nseed = 1\n", 1, "{}");
  db.record_stage(id, StageRecord{"data", "abc", false, utc_now(), 0.5});
  db.store_results(id, {{"baseline_pred", "c_lb", 1.25, {}, {}}, {"audit", "m", 3, 0.5, 2.0}},
                   {{"baseline_pred", {1, 0, 1}, {0.9, 0.1, 0.4}},
                    {"mia_final_pred", {1, 0, 1}, {0.8, 0.3, 0.7}}},
                   {{"baseline_pred", "roc", "{\"fpr\":[0,1]}"}});
  db.finish_run(id, "completed");
  const auto run = db.run(id);
  EXPECT_EQ(run.status, "completed");
  EXPECT_EQ(run.config, "[audit]\nseed = 1\n");
  EXPECT_EQ(db.stages(id).size(), 1u);
  const auto metrics = db.metrics(id);
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(metrics[0].value, 1.25);
  EXPECT_FALSE(metrics[0].ci_low.has_value());
  EXPECT_DOUBLE_EQ(*metrics[1].ci_high, 2.0);
  std::ostringstream csv;
  write_reference_csv(db.scores(id), csv);
  EXPECT_EQ(
      csv.str(),
      "member,baseline_pred,mia_final_pred\n1,0.90000000000000002,0.80000000000000004\n"
      "0,0.10000000000000001,0.29999999999999999\n1,0.40000000000000002,0.69999999999999996\n");
  EXPECT_THROW(db.run(id + 1), UserError);
}

TEST(ResultsDb, PreviewsAreStoredWithTheResults) {
  testing::TempDir dir;
  const auto file = dir / "r.db";
  {
    ResultsDb db(file);
    const auto id = db.begin_run("toy", "toy.ini", "", 1, "{}");
    Preview image;
    image.png = std::string("\x89PNG\r\n\x1a\n\0\xff", 10);  // bytes kept as they are, NUL too
    Preview table;
    table.columns = {"age", "work"};
    table.rows = {{"39", "State-gov"}, {"50", "<b>"}};
    Preview texts;
    texts.texts = {"caf\xc3\xa9", "line\nbreak"};
    db.store_results(id, {}, {}, {}, {{"real", image}, {"generated", table}, {"texts", texts}});
  }
  const ResultsDb db(file, DbAccess::kReadOnly);
  const auto previews = db.previews(1);
  ASSERT_EQ(previews.size(), 3u);
  EXPECT_EQ(previews[0].role, "real");
  EXPECT_EQ(previews[0].preview.png, std::string("\x89PNG\r\n\x1a\n\0\xff", 10));
  EXPECT_TRUE(previews[0].preview.columns.empty() && previews[0].preview.texts.empty());
  EXPECT_EQ(previews[1].preview.columns, (std::vector<std::string>{"age", "work"}));
  EXPECT_EQ(previews[1].preview.rows[1], (std::vector<std::string>{"50", "<b>"}));
  EXPECT_TRUE(previews[1].preview.png.empty());
  EXPECT_EQ(previews[2].preview.texts, (std::vector<std::string>{"caf\xc3\xa9", "line\nbreak"}));
}

TEST(ResultsDb, PreviewsOfOlderFilesAndCorruptedOnes) {
  testing::TempDir dir;
  const auto file = dir / "r.db";
  {
    ResultsDb db(file);
    db.begin_run("toy", "toy.ini", "", 1, "{}");
    Preview texts;
    texts.texts = {"a"};
    db.store_results(1, {}, {}, {}, {{"real", texts}});
  }
  {
    SQLite::Database raw(file.string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE previews SET data = '{\"texts\": 7}'");
  }
  EXPECT_THAT(testing::message_of([&] { ResultsDb(file, DbAccess::kReadOnly).previews(1); }),
              ::testing::HasSubstr("run 1 has a real preview whose texts is not a list"));
  {
    SQLite::Database raw(file.string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE previews SET data = 'not json'");
  }
  EXPECT_THAT(testing::message_of([&] { ResultsDb(file, DbAccess::kReadOnly).previews(1); }),
              ::testing::HasSubstr("whose data is not a JSON object"));
  // A file written before previews were stored has no table: read-only, the run has none; opened
  // for writing, the table is added.
  {
    SQLite::Database raw(file.string(), SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE previews");
  }
  EXPECT_TRUE(ResultsDb(file, DbAccess::kReadOnly).previews(1).empty());
  ResultsDb(file).store_results(1, {}, {}, {}, {{"generated", Preview{}}});
  EXPECT_EQ(ResultsDb(file, DbAccess::kReadOnly).previews(1).size(), 1u);
}

TEST(ResultsDb, ResultsAreAllOrNothing) {
  testing::TempDir dir;
  ResultsDb db(dir / "r.db");
  const auto id = db.begin_run("toy", "toy.ini", "", 1, "{}");
  // The second metric repeats the primary key: the whole store must roll back.
  EXPECT_ANY_THROW(db.store_results(id, {{"a", "x", 1, {}, {}}, {"a", "x", 2, {}, {}}},
                                    {{"a", {1}, {0.5}}}, {}));
  EXPECT_TRUE(db.metrics(id).empty());
  EXPECT_TRUE(db.scores(id).empty());
}

TEST(ResultsDb, RunsOfDeadProcessesAreMarkedInterrupted) {
  testing::TempDir dir;
  {
    ResultsDb db(dir / "r.db");
    db.begin_run("alive", "a.ini", "", 1, "{}");  // this process: alive
  }
  {
    SQLite::Database raw((dir / "r.db").string(), SQLite::OPEN_READWRITE);
    raw.exec(
        "INSERT INTO runs (name, config_file, started_at, status, config, seed, plugins, pid, "
        "host) SELECT 'dead', 'd.ini', '2026-01-01T00:00:00Z', 'running', '', 1, '{}', "
        "999999999, host FROM runs WHERE id = 1");
  }
  ResultsDb db(dir / "r.db");
  EXPECT_EQ(db.mark_dead_runs_interrupted(), 1);
  EXPECT_EQ(db.run(1).status, "running");
  EXPECT_EQ(db.run(2).status, "interrupted");
  EXPECT_EQ(db.run(2).error, "the process stopped before the run finished");
}

TEST(ResultsDb, ReadOnlyReportsDeadRunsInterruptedWithoutWriting) {
  testing::TempDir dir;
  {
    ResultsDb db(dir / "r.db");
    db.begin_run("alive", "a.ini", "", 1, "{}");
    SQLite::Database raw((dir / "r.db").string(), SQLite::OPEN_READWRITE);
    raw.exec(
        "INSERT INTO runs (name, config_file, started_at, status, config, seed, plugins, pid, "
        "host) SELECT 'dead', 'd.ini', '2026-01-01T00:00:00Z', 'running', '', 1, '{}', "
        "999999999, host FROM runs WHERE id = 1");
  }
  {
    ResultsDb db(dir / "r.db", DbAccess::kReadOnly);
    EXPECT_EQ(db.mark_dead_runs_interrupted(), 1);
    EXPECT_EQ(db.run(2).status, "interrupted");
    EXPECT_EQ(db.run(2).error, "the process stopped before the run finished");
    EXPECT_ANY_THROW(db.begin_run("x", "x.ini", "", 1, "{}"));  // the connection cannot write
  }
  SQLite::Database raw((dir / "r.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("SELECT status FROM runs WHERE id = 2").getString(), "running");
}

// Another program's SQLite file: refused in one sentence, by the audit's read-write open too, and
// left as it was (no WAL switch, no tables, no user_version, no added column).
TEST(ResultsDb, AForeignDatabaseIsRefusedAndLeftUntouched) {
  testing::TempDir dir;
  const auto file = dir / "foreign.db";
  {
    SQLite::Database raw(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO runs VALUES "
        "(1, 'theirs')");
  }
  const std::string before = testing::read_file(file);
  for (const auto access : {DbAccess::kReadOnly, DbAccess::kReadWrite}) {
    try {
      ResultsDb db(file, access);
      FAIL() << "a foreign database was opened";
    } catch (const UserError& e) {
      EXPECT_EQ(std::string(e.what()),
                "results database " + file.string() +
                    " is not a panoramia results database: its 'runs' table has no 'name' column");
    }
  }
  EXPECT_EQ(testing::read_file(file), before);
  SQLite::Database raw(file.string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "delete");
  EXPECT_EQ(raw.execAndGet("PRAGMA user_version").getInt(), 0);
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM sqlite_master").getInt(), 1);
}

TEST(ResultsDb, ReadOnlyRefusesAnEmptyFileAndAnotherSchemaVersion) {
  testing::TempDir dir;
  testing::write_file(dir / "empty.db", "");
  try {
    ResultsDb db(dir / "empty.db", DbAccess::kReadOnly);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), "results database " + (dir / "empty.db").string() +
                                         " is not a panoramia results database: it has no "
                                         "'runs' table");
  }
  { ResultsDb db(dir / "r.db"); }
  {
    SQLite::Database raw((dir / "r.db").string(), SQLite::OPEN_READWRITE);
    raw.exec("PRAGMA user_version=7");
  }
  EXPECT_THROW(ResultsDb(dir / "r.db", DbAccess::kReadOnly), UserError);
  EXPECT_THROW(ResultsDb(dir / "r.db"), UserError);
}

// A full disk while the cache writes an archive is one sentence naming the file (issue 15,
// finding 4: LibTorch's writer threw from its destructor and the process aborted with 134).
// /dev/full fails every write with ENOSPC.
TEST(BatchIo, AFullDiskIsAnErrorNamingTheFileNotAnAbort) {
  Batch batch;
  batch.x = torch::ones({64, 8});
  batch.y = torch::zeros({64}, torch::kInt64);
  batch.modality = "vector";
  try {
    save_batch(batch, "/dev/full");
    FAIL() << "writing to /dev/full succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write /dev/full: No space left on device");
  }
  try {
    save_tensor(torch::ones({1000}), "/dev/full");
    FAIL() << "writing to /dev/full succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write /dev/full: No space left on device");
  }
}

// A database whose disk fills while a run's results are stored: the write fails with a sentence
// naming the file, the transaction leaves nothing of it behind, and the run before it and the
// database itself stay intact (issue 15, item 6). A child process plays the audit under a file-size
// limit (RLIMIT_FSIZE, SIGXFSZ ignored), which fails writes past 256 KiB the way a full disk fails
// them, for this process only.
TEST(ResultsDb, AFullDiskWhileStoringLeavesTheDatabaseConsistent) {
  testing::TempDir dir;
  const auto path = dir / "r.db";
  {
    ResultsDb db(path);
    const auto id = db.begin_run("before", "toy.ini", "", 1, "{}");
    db.store_results(id, {{"baseline_pred", "c_lb", 1.25, {}, {}}},
                     {{"baseline_pred", {1, 0}, {0.9, 0.1}}}, {});
    db.finish_run(id, "completed");
  }
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      ResultsDb db(path);
      const auto id = db.begin_run("full", "toy.ini", "", 1, "{}");
      // 2 x 200,000 scores: several MiB of pages, far past the limit.
      ScoreColumn big{"baseline_pred", std::vector<int>(200000, 1),
                      std::vector<double>(200000, 0.5)};
      db.store_results(id, {{"baseline_pred", "c_lb", 1.0, {}, {}}}, {big, big}, {});
    } catch (const std::exception& e) {
      message = e.what();
    }
    (void)!write(pipe_fds[1], message.data(), message.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died instead of reporting: " << message;
  EXPECT_THAT(message, ::testing::HasSubstr("results database " + path.string() + ": cannot "));

  ResultsDb db(path);
  {
    SQLite::Database raw(path.string(), SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
  }
  EXPECT_EQ(db.mark_dead_runs_interrupted(), 1);  // the child's run: its process is gone
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, "completed");
  EXPECT_EQ(db.scores(runs[0].id).size(), 1u);
  EXPECT_EQ(runs[1].status, "interrupted");
  EXPECT_TRUE(db.scores(runs[1].id).empty());
  EXPECT_TRUE(db.metrics(runs[1].id).empty());
}

TEST(ResultsDb, UnwritableLocationIsAClearError) {
  try {
    ResultsDb db("/proc/panoramia/r.db");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/panoramia/r.db"), std::string::npos);
  }
}

}  // namespace
}  // namespace panoramia
