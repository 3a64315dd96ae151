// The front end: commands that need no model run without LibTorch, the others in the engine,
// which starts with OpenMP's passive wait policy unless the user chose one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>

#include "test_util.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::run_panoramia;

// Runs a shell command line (output and exit code), e.g. the binary under another environment.
testing::CommandResult shell(const std::string& command, const std::filesystem::path& cwd = {}) {
  std::string line = cwd.empty() ? "" : "cd '" + cwd.string() + "' && ";
  line += "(" + command + ") 2>&1";
  testing::CommandResult result;
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe) != nullptr) result.output += buf;
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string bin() {
  return "'" + testing::binary().string() + "'";
}

TEST(CliFront, TheFrontEndDoesNotLinkLibTorch) {
  // Every shared library the executable needs, as the dynamic loader resolves them.
  const auto ldd = shell("ldd " + bin());
  ASSERT_EQ(ldd.exit_code, 0) << ldd.output;
  const std::string& output = ldd.output;
  EXPECT_THAT(output, HasSubstr("libsqlite3"));
  EXPECT_THAT(output, Not(HasSubstr("libtorch")));
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
  EXPECT_THAT(result.output, Not(HasSubstr("libtorch")));
  EXPECT_THAT(result.output, Not(HasSubstr("libpanoramia_engine")));
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
}

}  // namespace
}  // namespace panoramia
