// Two ranks on two hosts: each rank runs in its own network namespace with its own address (a veth
// pair, 10.213.0.1 and 10.213.0.2; created by the test, which needs root, as CI and
// scripts/run-tests run), so rank 1 reaches rank 0 over a real link, not loopback. The audit
// completes with the numbers of one process; cutting the link mid-run makes both ranks fail
// within the timeout, each with one sentence naming its rank and the collective.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.hpp"
#include "support/run_panoramia.hpp"

extern char** environ;

namespace panoramia {
namespace {

using namespace panoramia::testing;
using ::testing::HasSubstr;

constexpr const char* kAddress[2] = {"10.213.0.1", "10.213.0.2"};

std::string sh(const std::string& command) {
  const auto r = run_shell(command + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
  return r.output;
}

// Two namespaces joined by a veth pair, removed (with the pair) at the end of the test.
class TwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string id = std::to_string(::getpid());
    for (int r = 0; r < 2; ++r) {
      ns_[r] = "pnm" + id + (r == 0 ? "a" : "b");
      link_[r] = "pv" + id + (r == 0 ? "a" : "b");
    }
    sh("ip netns add " + ns_[0]);
    sh("ip netns add " + ns_[1]);
    sh("ip link add " + link_[0] + " netns " + ns_[0] + " type veth peer name " + link_[1] +
       " netns " + ns_[1]);
    for (int r = 0; r < 2; ++r) {
      sh("ip -n " + ns_[r] + " addr add " + kAddress[r] + "/24 dev " + link_[r]);
      sh("ip -n " + ns_[r] + " link set lo up");
      sh("ip -n " + ns_[r] + " link set " + link_[r] + " up");
    }
  }
  void TearDown() override {
    for (const auto& ns : ns_) run_shell("ip netns del " + ns + " 2>&1");
  }

  // `panoramia audit ARGS` as rank `rank` of two in its namespace, stdout and stderr to `log`.
  Child start_rank(int rank, const std::string& args, const std::filesystem::path& log) {
    const std::string command = "exec ip netns exec " + ns_[rank] + " '" + binary().string() +
                                "' audit " + args + " --world-size 2 --rank " +
                                std::to_string(rank) + " --master " + kAddress[0] + ":29500 > '" +
                                log.string() + "' 2>&1";
    std::vector<char*> argv{const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                            const_cast<char*>(command.c_str()), nullptr};
    Child c;
    c.log = log;
    EXPECT_EQ(posix_spawn(&c.pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    return c;
  }

  void cut_the_link() { sh("ip -n " + ns_[0] + " link set " + link_[0] + " down"); }

  std::string ns_[2], link_[2];
};

TEST_F(TwoHosts, TwoRanksOnTwoAddressesRunAnAuditWithTheNumbersOfOneProcess) {
  TempDir dir;
  const std::string config = "'" + (source_dir() / "configs" / "toy.ini").string() +
                             "' --set data.samples=1200 --set target.epochs=20 "
                             "--set helper.epochs=5 --set attack.epochs=10 --log-level warn";
  const auto one = run_panoramia("audit " + config + " --workdir '" + (dir / "one").string() + "'");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string work = " --workdir '" + (dir / "two").string() + "' --dist-timeout 60";
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(start_rank(r, config + work, dir / ("rank" + std::to_string(r) + ".log")));
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(wait_for(ranks[r], std::chrono::seconds(300)), 0) << read_file(ranks[r].log);
  const std::string rows = measurement_rows(one.output);
  ASSERT_THAT(rows, HasSubstr("mia_best_pred "));
  EXPECT_EQ(measurement_rows(read_file(ranks[0].log)), rows);
  // Rank 0 stored the run; rank 1 computed into its own folder of the shared work directory.
  EXPECT_TRUE(std::filesystem::exists(dir / "two" / "results.db"));
  EXPECT_TRUE(std::filesystem::exists(dir / "two" / "ranks" / "1" / "cache"));
}

TEST_F(TwoHosts, CuttingTheLinkMidRunMakesBothRanksFailWithinTheTimeout) {
  TempDir dir;
  constexpr int kTimeout = 8;
  const std::string args = "'" + (source_dir() / "configs" / "toy.ini").string() +
                           "' --set target.epochs=100000 --log-level info --workdir '" +
                           (dir / "work").string() + "' --dist-timeout " + std::to_string(kTimeout);
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(start_rank(r, args, dir / ("rank" + std::to_string(r) + ".log")));
  // Both ranks train the target (all-reducing every step) once rank 1 says so.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_file(ranks[1].log).find("stage target: computing") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_THAT(read_file(ranks[1].log), HasSubstr("stage target: computing"))
      << read_file(ranks[0].log);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  cut_the_link();
  const auto cut = std::chrono::steady_clock::now();
  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    const int code = wait_for(ranks[r], std::chrono::seconds(kTimeout + 60));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - cut).count();
    const std::string log = read_file(ranks[r].log);
    // The collective fails inside the target plugin's training: a plugin failure, exit code 3.
    EXPECT_EQ(code, 3) << log;
    // The collective in flight times out: the configured timeout, plus slack for a loaded machine.
    EXPECT_LT(seconds, kTimeout + 10) << log;
    EXPECT_THAT(log, HasSubstr("error: plugin 'mlp' failed in fit: rank " + std::to_string(r) +
                               " of 2: all-reduce failed"));
    std::cout << "rank " << r << " stopped " << seconds << " s after the cut\n";
  }
}

}  // namespace
}  // namespace panoramia
