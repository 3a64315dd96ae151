// The tests marked for CUDA (CTest label `cuda`): audits on the device PANORAMIA_TEST_DEVICE names
// (`[audit] device`; cpu when unset, as in the suite; scripts/gpu-check runs them with cuda on a
// GPU machine and with cpu in its rehearsal). The same config and seed give the same numbers twice
// on one device (seeded generators on that device), bf16 training makes its own models, and the
// image audit runs there end to end; on a CUDA device the NCCL group of the ranks sums and
// broadcasts.
#include <cstdlib>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include "dist/nccl_group.hpp"
#include "support/idx_shapes.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia::testing {
namespace {

using ::testing::HasSubstr;

std::string device() {
  const char* d = std::getenv("PANORAMIA_TEST_DEVICE");
  return d != nullptr && *d ? d : "cpu";
}

TEST(AuditDevice, TheSameSeedGivesTheSameNumbersTwiceOnTheDevice) {
  const TempDir dir;
  const std::string args = "audit '" + (source_dir() / "configs" / "toy.ini").string() +
                           "' --set audit.device=" + device() +
                           " --set data.samples=1200 --set target.epochs=10 --set helper.epochs=5"
                           " --set attack.epochs=10 --fresh --log-level warn --workdir '";
  const auto first = run_panoramia(args + (dir / "one").string() + "'");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto second = run_panoramia(args + (dir / "two").string() + "'");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const auto rows = measurement_rows(first.output);
  ASSERT_THAT(rows, HasSubstr("mia_best_pred "));
  EXPECT_EQ(measurement_rows(second.output), rows);
}

// [audit] precision = bf16: the generator, target and helper train under bf16 autocast, as new
// cache entries (not the fp32 ones), and the audit completes with other numbers than fp32's.
TEST(AuditDevice, Bf16TrainingMakesItsOwnModelsAndCompletes) {
  const TempDir dir;
  const std::string args = "audit '" + (source_dir() / "configs" / "toy.ini").string() +
                           "' --set audit.device=" + device() +
                           " --set data.samples=1200 --set target.epochs=10 --set helper.epochs=5"
                           " --set attack.epochs=10 --log-level info --workdir '" +
                           (dir / "work").string() + "'";
  const auto fp32 = run_panoramia(args);
  ASSERT_EQ(fp32.exit_code, 0) << fp32.output;
  const auto bf16 = run_panoramia(args + " --set audit.precision=bf16");
  ASSERT_EQ(bf16.exit_code, 0) << bf16.output;
  for (const std::string stage : {"generator", "target", "helper"})
    EXPECT_THAT(bf16.output, HasSubstr("stage " + stage + ": computing")) << stage;
  const auto rows = measurement_rows(bf16.output);
  ASSERT_THAT(rows, HasSubstr("mia_best_pred "));
  EXPECT_NE(rows, measurement_rows(fp32.output));
  // And the fp32 entries are still there for an fp32 run.
  const auto again = run_panoramia(args);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("stage target: reusing cached"));
  EXPECT_EQ(measurement_rows(again.output), measurement_rows(fp32.output));
}

TEST(AuditDevice, TheImageAuditRunsOnTheDevice) {
  const TempDir dir;
  std::filesystem::create_directories(dir / "data");
  write_shapes(dir / "data", 3);
  const auto r = run_panoramia(
      "audit '" + (source_dir() / "configs" / "quickstart.ini").string() +
      "' --set audit.device=" + device() + " --set data.directory='" + (dir / "data").string() +
      "' --set split.max_samples=500 --set generator.kimg=0.2 --set generator.grid_per_class=2"
      " --set target.epochs=2 --set target.eval_every=1 --set attack.epochs=3 --fresh"
      " --log-level warn --workdir '" +
      (dir / "work").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("c_lb = "));
  EXPECT_THAT(r.output, HasSubstr("eps_tilde = "));
}

// The NCCL group CUDA ranks join (dist::make_nccl_group, what the Communicator uses for CUDA
// tensors): one rank on the device, an in-process store. Its sum over one rank is the tensor
// itself, bit for bit, and a broadcast from rank 0 keeps it; the collectives run on the GPU. On the
// CPU: a build without NCCL refuses in one sentence, and a build with NCCL but no GPU fails to join
// with an exception (never a crash).
TEST(AuditDevice, TheNcclGroupSumsAndBroadcastsOnTheDevice) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  const auto timeout = std::chrono::milliseconds(60000);
  if (!dist::nccl_available()) {
    try {
      dist::make_nccl_group(store, 0, 1, timeout, 0);
      FAIL() << "a build without NCCL made an NCCL group";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("without NCCL"));
    }
    return;
  }
  if (device() != "cuda") {
    EXPECT_ANY_THROW(dist::make_nccl_group(store, 0, 1, timeout, 0));
    return;
  }
  auto group = dist::make_nccl_group(store, 0, 1, timeout, 0);
  const auto values = torch::arange(1000, torch::kFloat32).div(7.0);
  std::vector<at::Tensor> tensors{values.to(torch::kCUDA)};
  c10d::AllreduceOptions sum;
  sum.reduceOp = c10d::ReduceOp::SUM;
  group->allreduce(tensors, sum)->wait();
  EXPECT_TRUE(torch::equal(tensors[0].cpu(), values));
  c10d::BroadcastOptions from_zero;
  group->broadcast(tensors, from_zero)->wait();
  EXPECT_TRUE(torch::equal(tensors[0].cpu(), values));
}

}  // namespace
}  // namespace panoramia::testing
