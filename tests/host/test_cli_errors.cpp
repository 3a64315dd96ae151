// Bad input through the command line: one sentence, a non-zero exit code, a consistent database.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "results_db.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using testing::run_panoramia;

TEST(CliErrors, MissingConfigFile) {
  testing::TempDir dir;
  const auto r = run_panoramia("audit nowhere.ini", dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "error: cannot open config file nowhere.ini\n");
}

TEST(CliErrors, UnknownKeyExitsTwoWithASuggestionAndStartsNoRun) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config());
  const auto r = run_panoramia("audit toy.ini --set target.hiden=3", dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("error: --set target.hiden is not a known key of [target] or of "
                                  "plugin 'mlp'; did you mean 'hidden'?"));
  EXPECT_FALSE(std::filesystem::exists(dir / "panoramia-work" / "results.db"));
}

// A value outside its range, and an empty path, exit 2 at once with one sentence; no run starts.
TEST(CliErrors, OutOfRangeValuesAndEmptyPathsExitTwoBeforeAnyStage) {
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config());
  const auto r = run_panoramia("audit toy.ini --set audit.confidence=1.5", dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output,
            "error: --set audit.confidence = '1.5' is not valid: expected number in (0, 1)\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "panoramia-work" / "results.db"));
  const auto empty = run_panoramia("audit toy.ini --workdir ''", dir.path());
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_EQ(empty.output, "error: --workdir must not be empty\n");
  EXPECT_EQ(run_panoramia("runs --db ''", dir.path()).output, "error: --db must not be empty\n");
  const auto directory = run_panoramia("stats --csv .", dir.path());
  EXPECT_EQ(directory.exit_code, 2);
  EXPECT_EQ(directory.output, "error: score file '.' is not a regular file\n");
}

// The toy audit in `dir` with the `throwing` fixture as its attack, failing at `where`.
testing::CommandResult audit_with_throwing_attack(const testing::TempDir& dir,
                                                  const std::string& where) {
  std::string config = testing::toy_config(3);
  const std::string attack = "plugin = loss-threshold";
  config.replace(config.find(attack), attack.size(), "plugin = throwing\nwhere = " + where);
  testing::write_file(dir / "toy.ini", config);
  return run_panoramia(
      "audit toy.ini --plugin-path '" + testing::fixture_dir("throwing").string() + "'",
      dir.path());
}

TEST(CliErrors, PluginThatThrowsMidRunFailsTheRunWithItsMessage) {
  testing::TempDir dir;
  const auto r = audit_with_throwing_attack(dir, "fit");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.output,
              HasSubstr("error: plugin 'throwing' failed in fit: fit exploded on purpose"));
  ResultsDb db(dir / "panoramia-work" / "results.db");
  ASSERT_EQ(db.runs().size(), 1u);
  EXPECT_EQ(db.run(1).status, "failed");
  EXPECT_EQ(db.run(1).error, "plugin 'throwing' failed in fit: fit exploded on purpose");
  EXPECT_TRUE(db.metrics(1).empty());
  EXPECT_TRUE(db.scores(1).empty());
}

TEST(CliErrors, ScoresOutsideTheUnitIntervalAreRefused) {
  testing::TempDir dir;
  const auto r = audit_with_throwing_attack(dir, "range");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.output,
              HasSubstr("plugin 'throwing' failed in score: it returned scores outside [0, 1]"));
}

TEST(CliErrors, RefusedPluginsAreWarningsAndTheHostGoesOn) {
  testing::TempDir dir;
  const auto r = run_panoramia(
      "plugins list --plugin-path '" + testing::fixture_dir("wrong_api").string() + "'",
      dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("refused plugin "));
  EXPECT_THAT(r.output, HasSubstr("built for plugin API version 999"));
  EXPECT_THAT(r.output, HasSubstr("loss-threshold"));
}

// A FIFO named like a plugin is refused without being opened (dlopen of a FIFO blocked forever:
// issue 15, finding 10); `timeout` turns a hang into a failure here.
TEST(CliErrors, AFifoInAPluginDirectoryIsRefusedWithoutBlocking) {
  testing::TempDir dir;
  std::filesystem::create_directory(dir / "plugins");
  ASSERT_EQ(::mkfifo((dir / "plugins" / "libfifo.so").c_str(), 0600), 0);
  const auto r = run_panoramia("plugins list --plugin-path plugins", dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("libfifo.so: it is not a regular file"));
  EXPECT_THAT(r.output, HasSubstr("loss-threshold"));
}

TEST(CliErrors, PluginsShowListsOptionsWithDefaultsAndHelp) {
  const auto r = run_panoramia("plugins show mlp");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("target options:"));
  EXPECT_THAT(r.output, HasSubstr("hidden"));
  EXPECT_THAT(r.output, HasSubstr("= 150,100,50,10"));
  EXPECT_THAT(r.output, HasSubstr("dropout after each hidden layer ([0, 1))"));
  EXPECT_THAT(r.output, HasSubstr("attack options:"));
  EXPECT_EQ(run_panoramia("plugins show nothing").exit_code, 2);
}

// The read-only commands on another program's SQLite file: exit 2, one sentence, the file as it
// was (finding 7 of issue 15: `runs` switched it to WAL and added five tables).
TEST(CliErrors, ReadOnlyCommandsRefuseAForeignDatabaseWithoutWriting) {
  testing::TempDir dir;
  const auto file = dir / "foreign.db";
  ASSERT_EQ(std::system(("sqlite3 '" + file.string() +
                         "' \"CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO "
                         "notes VALUES (1, 'x');\"")
                            .c_str()),
            0);
  const std::string before = testing::read_file(file);
  for (const std::string command : {"runs", "show 1", "export 1 --json", "report 1", "compare 1"}) {
    const auto r = run_panoramia(command + " --db '" + file.string() + "'", dir.path());
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_EQ(r.output, "error: results database " + file.string() +
                            " is not a panoramia results database: it has no 'runs' table\n")
        << command;
  }
  EXPECT_EQ(testing::read_file(file), before);
  EXPECT_FALSE(std::filesystem::exists(dir / "foreign.db-wal"));
}

TEST(CliErrors, UnknownCommandAndRun) {
  EXPECT_EQ(run_panoramia("frobnicate").exit_code, 2);
  testing::TempDir dir;
  EXPECT_THAT(run_panoramia("show 1", dir.path()).output,
              HasSubstr("results database panoramia-work/results.db does not exist"));
  testing::write_file(dir / "toy.ini", testing::toy_config(2));
  ASSERT_EQ(run_panoramia("audit toy.ini --log-level off", dir.path()).exit_code, 0);
  const auto r = run_panoramia("show 7", dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "error: there is no run 7 in panoramia-work/results.db\n");
  EXPECT_EQ(run_panoramia("show abc", dir.path()).exit_code, 2);
}

}  // namespace
}  // namespace panoramia
