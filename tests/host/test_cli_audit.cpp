// The audit command end to end on the toy modality: results, determinism, the cache, and an audit
// killed mid-run that resumes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "results_db.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using testing::run_panoramia;

double metric(const ResultsDb& db, std::int64_t run, const std::string& attack,
              const std::string& name) {
  for (const auto& m : db.metrics(run))
    if (m.attack == attack && m.name == name) return m.value;
  ADD_FAILURE() << "no metric " << attack << "/" << name;
  return NAN;
}

TEST(CliAudit, ToyAuditRunsAndStoresEverything) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config());
  const auto result = run_panoramia("audit toy.ini --log-level warn", dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("c_lb = "));
  EXPECT_THAT(result.output, HasSubstr("mia_final_pred         {eps+c}_lb = "));
  EXPECT_THAT(result.output, HasSubstr("not a proven lower bound"));

  ResultsDb db(dir / "panoramia-work" / "results.db");
  ASSERT_EQ(db.runs().size(), 1u);
  const auto run = db.run(1);
  EXPECT_EQ(run.status, "completed");
  EXPECT_THAT(run.config, HasSubstr("[target]\nload = \nplugin = mlp\n"));
  EXPECT_THAT(run.plugins, HasSubstr("\"target\":{\"plugin\":\"mlp\",\"version\":\"1.0.0\"}"));
  const auto scores = db.scores(1);
  ASSERT_EQ(scores.size(), 3u);  // baseline + the target's two variants
  EXPECT_EQ(scores[0].attack, "baseline_pred");
  EXPECT_EQ(scores[1].attack, "mia_best_pred");
  EXPECT_EQ(scores[2].attack, "mia_final_pred");
  // 900 samples: 720 train the target, a third of them (240) are attack-test members: m = 240.
  EXPECT_EQ(scores[0].score.size(), 240u);
  EXPECT_DOUBLE_EQ(metric(db, 1, "audit", "m"), 240);
  const double c_lb = metric(db, 1, "audit", "c_lb");
  EXPECT_DOUBLE_EQ(c_lb, metric(db, 1, "baseline_pred", "c_lb"));
  for (const std::string col : {"mia_best_pred", "mia_final_pred"})
    EXPECT_DOUBLE_EQ(metric(db, 1, col, "eps_tilde"), metric(db, 1, col, "eps_c_lb") - c_lb);
  std::vector<std::string> stages;
  for (const auto& s : db.stages(1)) stages.push_back(s.stage);
  EXPECT_THAT(stages,
              ::testing::ElementsAre("data", "generator", "target", "helper", "signals",
                                     "attack-baseline", "attack-mia_best", "attack-mia_final"));
  EXPECT_FALSE(db.curves(1).empty());

  // `show` prints the same numbers; `export --csv` gives the reference format.
  const auto show = run_panoramia("show 1", dir.path());
  ASSERT_EQ(show.exit_code, 0) << show.output;
  char expected[64];
  std::snprintf(expected, sizeof expected, "c_lb = %.4f", c_lb);
  EXPECT_THAT(show.output, HasSubstr(expected));
  const auto csv = run_panoramia("export 1 --csv --out scores.csv", dir.path());
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  const std::string text = testing::read_file(dir / "scores.csv");
  EXPECT_EQ(text.substr(0, text.find('\n')), "member,baseline_pred,mia_best_pred,mia_final_pred");
  // ... which `panoramia stats` reads back to the same c_lb.
  const auto stats = run_panoramia("stats --csv scores.csv", dir.path());
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  std::snprintf(expected, sizeof expected, "%.4f", c_lb);
  EXPECT_THAT(stats.output, HasSubstr(expected));
}

TEST(CliAudit, SameConfigAndSeedGiveTheSameNumbersAndTheCacheIsReused) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(20));
  ASSERT_EQ(run_panoramia("audit toy.ini --log-level warn", dir.path()).exit_code, 0);
  const auto second = run_panoramia("audit toy.ini", dir.path());
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("stage target: reusing cached result"));
  ASSERT_EQ(run_panoramia("audit toy.ini --fresh --log-level warn", dir.path()).exit_code, 0);
  // A separate work directory: nothing shared with the runs above.
  ASSERT_EQ(run_panoramia("audit toy.ini --workdir other --log-level warn", dir.path()).exit_code,
            0);

  ResultsDb db(dir / "panoramia-work" / "results.db");
  ResultsDb other(dir / "other" / "results.db");
  for (const auto& s : db.stages(2)) EXPECT_TRUE(s.reused) << s.stage;
  for (const auto& s : db.stages(3)) EXPECT_FALSE(s.reused) << s.stage;
  const auto reference = db.scores(1);
  for (const auto& scores : {db.scores(2), db.scores(3), other.scores(1)}) {
    ASSERT_EQ(scores.size(), reference.size());
    for (std::size_t c = 0; c < scores.size(); ++c) {
      EXPECT_EQ(scores[c].member, reference[c].member);
      EXPECT_EQ(scores[c].score, reference[c].score) << scores[c].attack;
    }
  }
  // A different seed gives a different game.
  ASSERT_EQ(
      run_panoramia("audit toy.ini --set audit.seed=4 --log-level warn", dir.path()).exit_code, 0);
  const auto reseeded = db.scores(4);
  ASSERT_FALSE(reseeded.empty());
  EXPECT_NE(reseeded[0].member, reference[0].member);
}

TEST(CliAudit, O1AndRealNonMembersBesideTheGeneratedGame) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini",
                      testing::toy_config(10,
                                          "\n[o1]\ncanaries = 120\nselection = split\n"
                                          "\n[game]\nnonmembers = both\n\n[split]\n"
                                          "target_fraction = 0.6\n"));
  const auto r = run_panoramia("audit toy.ini --log-level warn", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("comparison (same target):"));
  EXPECT_THAT(r.output, HasSubstr("O(1) eps_lb  f-DP mu_lb  f-DP eps_lb  real {eps+c}_lb"));
  ResultsDb db(dir / "panoramia-work" / "results.db");
  // 900 samples: 540 train the target, 360 are held out; 120 of those are canaries, 60 of the
  // other 240 (cut by the game) would not fit 180 attack-train non-members + 180 test slots.
  double m_o1 = -1, m_real = -1, optimistic = -1;
  for (const auto& m : db.metrics(1)) {
    if (m.attack == "o1/final" && m.name == "m") m_o1 = m.value;
    if (m.attack == "o1/final" && m.name == "optimistic") optimistic = m.value;
    if (m.attack == "real/audit" && m.name == "m") m_real = m.value;
  }
  EXPECT_EQ(m_o1, 60);  // split selection: evaluated on half of the 120 canaries
  EXPECT_EQ(optimistic, 0);
  EXPECT_EQ(m_real, 60);  // 240 held out - 180 attack-train non-members
  std::size_t real_columns = 0;
  for (const auto& c : db.scores(1))
    if (c.attack.rfind("real/", 0) == 0) {
      ++real_columns;
      EXPECT_EQ(c.score.size(), 60u);
    }
  EXPECT_EQ(real_columns, 3u);
  // The reference CSV holds the generated game only.
  ASSERT_EQ(run_panoramia("export 1 --csv --out s.csv", dir.path()).exit_code, 0);
  const std::string csv = testing::read_file(dir / "s.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "member,baseline_pred,mia_best_pred,mia_final_pred");
  // Too many canaries for the held-out data is a clear error.
  const auto bad = run_panoramia("audit toy.ini --set o1.canaries=5000", dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("[o1] canaries = 5000 but only 360 samples are held out"));
}

// Starts `panoramia audit toy.ini` in `dir`, its output discarded; returns its process id (-1 when
// fork failed).
pid_t spawn_audit(const testing::TempDir& dir) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.path().c_str()) != 0) _exit(99);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(testing::binary().c_str(), "panoramia", "audit", "toy.ini", nullptr);
    _exit(98);
  }
  return pid;
}

// Starts `panoramia audit toy.ini` in `dir` (a target that never ends) and waits until its
// generator stage is complete, so that the target is training; returns the process id, or -1
// when the stage did not complete within two minutes (the process is then killed).
pid_t start_audit_until_training(const testing::TempDir& dir) {
  testing::write_file(dir / "toy.ini", testing::toy_config(1000000));
  const pid_t pid = spawn_audit(dir);
  if (pid < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir / "panoramia-work" / "cache", ec))
      if (e.path().filename().string().rfind("generator-", 0) == 0 &&
          std::filesystem::exists(e.path() / "complete"))
        return pid;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// After an audit killed in `dir` and a rerun (its output `rerun_output`): the rerun marked the
// killed run interrupted and completed its own.
void expect_interrupted_then_completed(const testing::TempDir& dir,
                                       const std::string& rerun_output) {
  EXPECT_THAT(rerun_output, HasSubstr("marked 1 earlier run(s) that stopped before finishing"));
  ResultsDb db(dir / "panoramia-work" / "results.db");
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, "interrupted");
  EXPECT_EQ(runs[1].status, "completed");
}

TEST(CliAudit, KilledAuditResumesFromTheCache) {
  testing::TempDir dir;
  const pid_t pid = start_audit_until_training(dir);
  ASSERT_GT(pid, 0) << "the generator stage never completed";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  const auto rerun = run_panoramia("audit toy.ini --set target.epochs=5", dir.path());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_THAT(rerun.output, HasSubstr("stage data: reusing cached result"));
  EXPECT_THAT(rerun.output, HasSubstr("stage generator: reusing cached result"));
  expect_interrupted_then_completed(dir, rerun.output);
  ResultsDb db(dir / "panoramia-work" / "results.db");
  EXPECT_EQ(db.stages(1).size(), 2u);  // data and generator were recorded before the kill
  EXPECT_FALSE(db.scores(2).empty());
}

// The stages whose cache directories hold the `complete` marker under `cache`.
std::set<std::string> completed_stages(const std::filesystem::path& cache) {
  std::set<std::string> stages;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(cache, ec)) {
    const auto name = e.path().filename().string();
    if (std::filesystem::exists(e.path() / "complete"))
      stages.insert(name.substr(0, name.rfind('-')));
  }
  return stages;
}

// kill -9 at each stage boundary (as soon as the stage's result is complete in the cache, so
// usually early in the next stage): the next audit reuses every stage that was complete, recomputes
// none of them, and marks the killed run interrupted (issue 15, item 6).
TEST(CliAudit, KilledAtEveryStageTheAuditResumesWithoutRecomputingAFinishedStage) {
  for (const std::string stage : {"data", "generator", "target", "helper", "signals"}) {
    SCOPED_TRACE("killed after stage " + stage);
    testing::TempDir dir;
    testing::write_file(dir / "toy.ini", testing::toy_config(40));
    const auto cache = dir / "panoramia-work" / "cache";
    const pid_t pid = spawn_audit(dir);
    ASSERT_GE(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (completed_stages(cache).count(stage) == 0 &&
           std::chrono::steady_clock::now() < deadline && waitpid(pid, nullptr, WNOHANG) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the audit ended before stage " << stage << " was killed";
    const auto complete = completed_stages(cache);
    ASSERT_EQ(complete.count(stage), 1u);

    const auto rerun = run_panoramia("audit toy.ini", dir.path());
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    for (const auto& done : complete)
      EXPECT_THAT(rerun.output, HasSubstr("stage " + done + ": reusing cached result"));
    expect_interrupted_then_completed(dir, rerun.output);
  }
}

// Two audits writing to one results database at the same time both finish and are both recorded
// with their own results (issue 15, item 6).
TEST(CliAudit, TwoAuditsAtOnceOnOneDatabaseAreBothRecorded) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(20));
  const std::string audit = "'" + testing::binary().string() + "' audit toy.ini --db shared.db";
  const auto both = testing::run_shell(
      audit + " --workdir w1 > o1 2>&1 & p1=$!; " + audit +
          " --set audit.seed=4 --workdir w2 > o2 2>&1 & p2=$!; wait $p1; e1=$?; wait $p2; e2=$?; "
          "echo \"exits $e1 $e2\"",
      dir.path());
  EXPECT_THAT(both.output, HasSubstr("exits 0 0"))
      << testing::read_file(dir / "o1") << testing::read_file(dir / "o2");
  ResultsDb db(dir / "shared.db", DbAccess::kReadOnly);
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, "completed");
    EXPECT_FALSE(db.scores(run.id).empty());
    EXPECT_FALSE(db.metrics(run.id).empty());
  }
  EXPECT_NE(runs[0].seed, runs[1].seed);
}

// SIGINT and SIGTERM (a user's Ctrl-C, a scheduler's stop) end the audit with that signal and
// leave its run `interrupted` with the signal named, without waiting for another command.
TEST(CliAudit, SigintAndSigtermMarkTheRunInterrupted) {
  for (const int signal_number : {SIGINT, SIGTERM}) {
    testing::TempDir dir;
    const pid_t pid = start_audit_until_training(dir);
    ASSERT_GT(pid, 0) << "the generator stage never completed";
    kill(pid, signal_number);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << status;
    EXPECT_EQ(WTERMSIG(status), signal_number);
    // Read without the dead-process check of a new command: the run itself was marked.
    SQLite::Database raw((dir / "panoramia-work" / "results.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(raw, "SELECT status, error, ended_at IS NOT NULL FROM runs");
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getString(), "interrupted");
    EXPECT_EQ(q.getColumn(1).getString(),
              signal_number == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM");
    EXPECT_EQ(q.getColumn(2).getInt(), 1);
  }
}

// An IDX file of `n` images of 8 x 8 pixels (value (i * 7 + p * shift) % 256) or of their labels.
void write_test_idx(const std::filesystem::path& file, int n, bool labels, int shift) {
  std::string bytes{0, 0, 8, static_cast<char>(labels ? 1 : 3)};
  const auto put = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<char>((v >> s) & 0xFF));
  };
  put(static_cast<std::uint32_t>(n));
  if (!labels) {
    put(8);
    put(8);
  }
  for (int i = 0; i < n; ++i) {
    if (labels) {
      bytes.push_back(static_cast<char>(i % 2));
      continue;
    }
    for (int p = 0; p < 64; ++p)
      bytes.push_back(static_cast<char>((i * 7 + p * shift + (i % 2) * 40) % 256));
  }
  testing::write_file(file, bytes);
}

// The data stage's cache follows the files the reader read (issue 15, finding 6): a changed or
// truncated image file is read again, never replaced by the cached old data.
TEST(CliAudit, TheDataCacheFollowsTheInputFiles) {
  testing::TempDir dir;
  write_test_idx(dir / "img", 300, false, 3);
  write_test_idx(dir / "lab", 300, true, 0);
  std::string config = testing::toy_config(3);
  config.replace(config.find("[data]"), config.find("[generator]") - config.find("[data]"),
                 "[data]\nplugin = idx\ndirectory = " + dir.path().string() +
                     "\nimages = img\nlabels = lab\nclasses = 2\n\n");
  testing::write_file(dir / "idx.ini", config);
  const auto first = run_panoramia("audit idx.ini", dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto again = run_panoramia("audit idx.ini", dir.path());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("stage data: reusing cached result"));
  // Other pixels, same size: the data stage runs again.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a later modification time
  write_test_idx(dir / "img", 300, false, 5);
  const auto changed = run_panoramia("audit idx.ini", dir.path());
  ASSERT_EQ(changed.exit_code, 0) << changed.output;
  EXPECT_THAT(changed.output, ::testing::Not(HasSubstr("stage data: reusing cached result")));
  EXPECT_THAT(changed.output, HasSubstr("stage data: computing"));
  // A truncated copy is read (and refused), not replaced by the cache.
  std::filesystem::resize_file(dir / "img", 1000);
  const auto truncated = run_panoramia("audit idx.ini", dir.path());
  EXPECT_NE(truncated.exit_code, 0);
  EXPECT_THAT(truncated.output, HasSubstr("is truncated"));
}

}  // namespace
}  // namespace panoramia
