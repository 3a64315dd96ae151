// Data-parallel training on loopback: two ranks of the MLP and of a tiny Wide ResNet (synchronised
// BatchNorm, augmentation drawn per global batch) end with the weights of a one-process run with
// the same global batch; a killed rank makes the other fail within the timeout; `panoramia launch`
// runs a whole audit on two ranks and stores it once.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/torch_compat.hpp>

#include "dist/communicator.hpp"
#include "harness.hpp"
#include "support/run_panoramia.hpp"

extern char** environ;

namespace panoramia {
namespace {

using namespace panoramia::testing;
using ::testing::HasSubstr;

// The tolerances are derived per tensor by the probes (dist_probe.cpp, tolerance.hpp): Adam's or
// SGD's rounding bound for the weights, BatchNorm's summation-order bound for its statistics.
TEST(DataParallel, TwoRanksOfTheMlpEndWithTheWeightsOfOneProcess) {
  expect_two_ranks_match_one("mlp", "3");
}

TEST(DataParallel, TwoRanksOfATinyWideResNetEndWithTheWeightsOfOneProcess) {
  expect_two_ranks_match_one("wrn", "2");
}

// Synchronised BatchNorm alone, with uneven shards (4 + 3 rows) and an empty one (1 row): output,
// input, weight and bias gradients and running statistics equal BatchNorm over the whole batch.
TEST(DataParallel, SynchronisedBatchNormEqualsBatchNormOverTheWholeBatch) {
  expect_two_ranks_match_one("bn", "1");
}

// The Communicator sums each tensor of a call on its own (c10d's allreduce would sum a list of
// tensors into one another), whatever their types, and writes into non-contiguous views.
TEST(Communicator, SumsEachTensorOfACallOverTheRanks) {
  TempDir dir;
  const std::string master = "127.0.0.1:" + std::to_string(dist::free_loopback_port());
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(
        spawn({"--model", "sums", "--world", "2", "--rank", std::to_string(r), "--master", master,
               "--out", (dir / ("rank" + std::to_string(r) + ".pt")).string()},
              dir / ("rank" + std::to_string(r) + ".log")));
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(wait_for(ranks[r], std::chrono::seconds(60)), 0)
        << read_file(dir / ("rank" + std::to_string(r) + ".log"));
  const auto sums = load_state(dir / "rank1.pt");
  ASSERT_EQ(sums.size(), 4u);
  // Ranks contribute 1x and 2x each pattern: the sums are 3x.
  EXPECT_TRUE(sums[0].equal(torch::tensor({3.0f, 6.0f})));
  EXPECT_TRUE(sums[1].equal(torch::full({3}, 30.0, torch::kFloat64)));
  EXPECT_TRUE(sums[2].equal(torch::arange(6, torch::kFloat32).view({2, 3}) * 3));
  EXPECT_TRUE(sums[3].equal(torch::full({1}, 3.0, torch::kFloat64)));
}

// Starts two ranks training for a long time, waits until both have joined and trained a little,
// then does `stop` to rank 1; returns rank 0's exit code, its log and how long it took to stop.
struct StopOutcome {
  int code;
  double seconds;
  std::string log;
};

StopOutcome stop_rank_one(int signal, const std::string& timeout) {
  TempDir dir;
  const std::string master = "127.0.0.1:" + std::to_string(dist::free_loopback_port());
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(spawn({"--model", "mlp", "--epochs", "100000", "--timeout", timeout, "--world",
                           "2", "--rank", std::to_string(r), "--master", master, "--ready",
                           (dir / ("ready" + std::to_string(r))).string()},
                          dir / ("rank" + std::to_string(r) + ".log")));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(dir / "ready1") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(std::filesystem::exists(dir / "ready1")) << read_file(dir / "rank1.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both are training now
  kill(ranks[1].pid, signal);
  const auto stopped = std::chrono::steady_clock::now();
  StopOutcome outcome;
  outcome.code = wait_for(ranks[0], std::chrono::seconds(60));
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  outcome.log = read_file(dir / "rank0.log");
  kill(ranks[1].pid, SIGKILL);
  waitpid(ranks[1].pid, nullptr, 0);
  return outcome;
}

TEST(DataParallel, KillingOneRankMakesTheOtherFailWithinTheTimeout) {
  const auto outcome = stop_rank_one(SIGKILL, "10");
  EXPECT_EQ(outcome.code, 1) << outcome.log;
  EXPECT_LT(outcome.seconds, 10 + 5);  // the configured timeout, plus slack for a loaded machine
  EXPECT_THAT(outcome.log, HasSubstr("rank 0 of 2: all-reduce failed"));
  std::cout << "rank 0 stopped " << outcome.seconds
            << " s after rank 1 was killed: " << outcome.log;
}

// A rank that hangs (stopped, its sockets still open) is only noticed by the collective timeout.
TEST(DataParallel, AHangingRankMakesTheOtherFailAtTheTimeout) {
  const auto outcome = stop_rank_one(SIGSTOP, "4");
  EXPECT_EQ(outcome.code, 1) << outcome.log;
  EXPECT_GT(outcome.seconds, 3.0);
  EXPECT_LT(outcome.seconds, 4 + 10);
  EXPECT_THAT(outcome.log, HasSubstr("rank 0 of 2"));
  EXPECT_THAT(outcome.log, HasSubstr("failed"));
  std::cout << "rank 0 stopped " << outcome.seconds << " s after rank 1 hung: " << outcome.log;
}

TEST(Launch, TwoLocalRanksRunAnAuditWithTheNumbersOfOneProcessAndStoreItOnce) {
  TempDir dir;
  const std::string config = "'" + (source_dir() / "configs" / "toy.ini").string() +
                             "' --set data.samples=1200 --set target.epochs=20 "
                             "--set helper.epochs=5 --set attack.epochs=10";
  const auto one = run_panoramia("audit " + config + " --log-level warn --workdir '" +
                                 (dir / "one").string() + "'");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_panoramia("launch -n 2 " + config + " --log-level warn --workdir '" +
                                 (dir / "two").string() + "'");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const std::string rows = measurement_rows(one.output);
  ASSERT_THAT(rows, HasSubstr("mia_best_pred "));  // with its AUC and TPR columns
  EXPECT_EQ(measurement_rows(two.output), rows);
  // Rank 1 computed into its own directory and stored nothing: one run in the database.
  EXPECT_TRUE(std::filesystem::exists(dir / "two" / "ranks" / "1" / "cache"));
  const auto runs = run_panoramia("runs --db '" + (dir / "two" / "results.db").string() + "'");
  EXPECT_EQ(std::count(runs.output.begin(), runs.output.end(), '\n'), 2) << runs.output;
  EXPECT_THAT(runs.output, HasSubstr("completed"));
  // Launched again on the same work directory, every rank reuses rank 0's cache entries.
  const auto again = run_panoramia("launch -n 2 " + config + " --log-level info --workdir '" +
                                   (dir / "two").string() + "'");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("[rank 1] [info] [panoramia] stage target: reusing cached"));
  // launch gives every rank its index on this machine (LOCAL_RANK: a CUDA rank's GPU).
  EXPECT_THAT(again.output, HasSubstr("(local rank 0);"));
  EXPECT_THAT(again.output, HasSubstr("(local rank 1);"));
  EXPECT_EQ(measurement_rows(again.output), rows);
}

TEST(Launch, LocalRankIsReadStrictlyFromTheEnvironment) {
  ::unsetenv("LOCAL_RANK");
  EXPECT_EQ(dist::local_rank(), -1);
  ::setenv("LOCAL_RANK", "3", 1);
  EXPECT_EQ(dist::local_rank(), 3);
  for (const char* bad : {"x", "-1", "2x", ""}) {
    ::setenv("LOCAL_RANK", bad, 1);
    try {
      dist::local_rank();
      ADD_FAILURE() << "LOCAL_RANK='" << bad << "' was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("LOCAL_RANK='" + std::string(bad) + "' is not a local rank"));
    }
  }
  ::unsetenv("LOCAL_RANK");
}

TEST(Launch, ABadConfigStopsEveryRankWithItsExitCode) {
  TempDir dir;
  const auto r = run_panoramia("launch -n 2 '" + (source_dir() / "configs" / "toy.ini").string() +
                               "' --set target.epochs=x --workdir '" + dir.path().string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--set target.epochs = 'x' is not valid"));
  EXPECT_THAT(r.output, HasSubstr("launch: rank"));
}

TEST(Launch, RefusesMissingArgumentsAndTheFlagsItSetsItself) {
  EXPECT_EQ(run_panoramia("launch configs/toy.ini").exit_code, 2);
  EXPECT_THAT(run_panoramia("launch -n 2").output, HasSubstr("missing CONFIG"));
  EXPECT_THAT(run_panoramia("launch -n 2 x.ini --rank 1").output,
              HasSubstr("--rank is set by launch itself"));
  EXPECT_THAT(run_panoramia("audit x.ini --world-size 2").output,
              HasSubstr("--world-size > 1 needs --master HOST:PORT"));
  EXPECT_THAT(run_panoramia("audit x.ini --world-size 2 --rank 2 --master h:1").output,
              HasSubstr("--rank 2 is not in 0..1"));
  EXPECT_THAT(run_panoramia("audit x.ini --world-size 2 --master h:99999").output,
              HasSubstr("the port must be 1..65535"));
}

TEST(Doctor, ReportsLibTorchTheBlasThreadsAndPlugins) {
  const auto r = run_panoramia("doctor");
  EXPECT_THAT(r.output, HasSubstr("LibTorch"));
  EXPECT_THAT(r.output, HasSubstr("BLAS library"));
  EXPECT_THAT(r.output, HasSubstr("intra-op threads"));
  EXPECT_THAT(r.output, HasSubstr("CUDA"));
  EXPECT_THAT(r.output, HasSubstr("plugins loaded"));
  if constexpr (torch_compat::kLibTorch2) {
    // PyTorch's wheel: MKL inside libtorch_cpu, and its CUDA 13 build with cuDNN 9 and NCCL 2
    // mapped (no GPU or driver here, which is no problem).
    EXPECT_THAT(r.output, HasSubstr("Intel MKL, linked into LibTorch"));
    EXPECT_THAT(r.output, ::testing::ContainsRegex("CUDA runtime +13\\."));
    EXPECT_THAT(r.output, ::testing::ContainsRegex("cuDNN +9\\."));
    EXPECT_THAT(r.output, ::testing::ContainsRegex("NCCL +2\\."));
    // CUDA ranks would join an NCCL group (compiled in: the wheel has ProcessGroupNCCL).
    EXPECT_THAT(r.output, HasSubstr("ProcessGroupNCCL (CUDA ranks)"));
  } else {
    // The project's machines have OpenBLAS (scripts/install-deps): doctor finds it. Debian's
    // LibTorch is CPU-only.
    EXPECT_THAT(r.output, HasSubstr("openblas"));
    EXPECT_THAT(r.output, HasSubstr("none (LibTorch built without CUDA)"));
    EXPECT_THAT(r.output, HasSubstr("ProcessGroupGloo (CPU and CUDA tensors)"));
  }
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace panoramia
