// The front end: commands that need no model run without LibTorch, the others in the engine,
// which starts with OpenMP's passive wait policy unless the user chose one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>

#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_panoramia;

// A shell command line, e.g. the binary under another environment.
testing::CommandResult shell(const std::string& command, const std::filesystem::path& cwd = {}) {
  return testing::run_shell(command, cwd);
}

std::string bin() {
  return "'" + testing::binary().string() + "'";
}

// A LibTorch library's file name (libtorch.so, libtorch_cpu.so, ...), not a path that merely holds
// "libtorch" (the 2.x line builds in build-libtorch2/).
constexpr const char* kLibTorchFile = "libtorch[_a-z]*\\.so";

TEST(CliFront, TheFrontEndDoesNotLinkLibTorch) {
  // Every shared library the executable needs, as the dynamic loader resolves them.
  const auto ldd = shell("ldd " + bin());
  ASSERT_EQ(ldd.exit_code, 0) << ldd.output;
  const std::string& output = ldd.output;
  EXPECT_THAT(output, HasSubstr("libsqlite3"));
  EXPECT_THAT(output, Not(ContainsRegex(kLibTorchFile)));
  EXPECT_THAT(output, Not(HasSubstr("libgomp")));
}

TEST(CliFront, StatsRunsWithoutLoadingLibTorch) {
  testing::TempDir dir;
  std::string csv = "member,baseline_pred,mia_x_pred\n";
  for (int i = 0; i < 100; ++i)
    csv += std::to_string(i % 2) + "," + std::to_string(0.005 * i) + "," +
           std::to_string(i % 2 ? 0.9 : 0.1) + "\n";
  testing::write_file(dir / "s.csv", csv);
  // LD_DEBUG=files lists every library the loader maps into the process.
  const auto result = shell("LD_DEBUG=files " + bin() + " stats --csv s.csv", dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("c_lb = "));
  EXPECT_THAT(result.output, Not(ContainsRegex(kLibTorchFile)));
  EXPECT_THAT(result.output, Not(HasSubstr("libpanoramia_engine")));
}

TEST(CliFront, TheReportRunsWithoutLoadingLibTorch) {
  // Its sample previews are stored with the run (the reader drew them during the audit).
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(2));
  ASSERT_EQ(shell(bin() + " audit toy.ini --log-level off", dir.path()).exit_code, 0);
  const auto report = shell("LD_DEBUG=files " + bin() + " report 1 --out r.html", dir.path());
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_THAT(report.output, Not(ContainsRegex(kLibTorchFile)));
  EXPECT_THAT(report.output, Not(HasSubstr("libpanoramia_engine")));
  EXPECT_THAT(testing::read_file(dir / "r.html"),
              HasSubstr("<caption>Generated samples</caption>"));
}

TEST(CliFront, DoctorAndTheAuditSayWhichWaitPolicyIsInForce) {
  // The test's environment may set the variable (scripts/run-tests does): remove it.
  const auto by_us = shell("env -u OMP_WAIT_POLICY " + bin() + " doctor");
  EXPECT_THAT(by_us.output, HasSubstr("OMP_WAIT_POLICY        PASSIVE, from panoramia (set before "
                                      "OpenMP was loaded)"));
  const auto by_user = shell("OMP_WAIT_POLICY=ACTIVE " + bin() + " doctor");
  EXPECT_THAT(by_user.output, HasSubstr("OMP_WAIT_POLICY        ACTIVE, from environment"));
  // libgomp itself reports the policy it read when it was loaded.
  const auto gomp = shell("env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=verbose " + bin() + " doctor");
  EXPECT_THAT(gomp.output, HasSubstr("OMP_WAIT_POLICY = 'PASSIVE'"));
  EXPECT_THAT(gomp.output, HasSubstr("GOMP_SPINCOUNT = '0'"));  // passive: no spinning at all

  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(2));
  const auto audit =
      shell("env -u OMP_WAIT_POLICY " + bin() + " audit toy.ini --set audit.threads=1", dir.path());
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("threads: 1 intra-op (OpenBLAS alike) from [audit] threads; "
                                      "OMP_WAIT_POLICY PASSIVE, from panoramia"));
  EXPECT_THAT(audit.output, HasSubstr("training the mlp: 1 intra-op thread ([audit] threads)"));
}

TEST(CliFront, DoctorAndTheAuditSayWhichThreadsEachLoopGets) {
  const auto doctor = shell(bin() + " doctor");
  EXPECT_THAT(doctor.output,
              HasSubstr("loop threads           1 for loops whose steps are below 40 MFLOP, "));
  // The toy target (6 inputs, hidden 64,64, batch 16: under 5,000 parameters) trains on steps of
  // under 6 x 5,000 x 16 = 0.48 MFLOP: one thread, whatever the cores.
  testing::TempDir dir;
  testing::write_file(dir / "toy.ini", testing::toy_config(2));
  const auto audit = shell(bin() + " audit toy.ini", dir.path());
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr(", 1 for loops whose steps are below 40 MFLOP; "
                                      "OMP_WAIT_POLICY"));
  EXPECT_THAT(audit.output, HasSubstr("[target:mlp] training the mlp: 1 intra-op thread (0."));
  EXPECT_THAT(audit.output, HasSubstr(" MFLOP per step, below 40 MFLOP)"));
}

}  // namespace
}  // namespace panoramia
