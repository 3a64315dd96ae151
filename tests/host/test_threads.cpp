// [audit] threads is the one place intra-op threads are set: LibTorch's pool and OpenBLAS's own.
#include <dlfcn.h>

#include <cmath>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <torch/torch.h>
#include <panoramia/torch_compat.hpp>

#include "context_impl.hpp"
#include "support/run_panoramia.hpp"
#include "threads.hpp"

namespace panoramia {
namespace {

TEST(Threads, SetThreadsReachesLibTorchAndOpenBlas) {
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  if constexpr (torch_compat::kLibTorch2) {
    // PyTorch's wheel: Intel MKL inside libtorch_cpu, whose threads LibTorch's count sets.
    EXPECT_TRUE(at::hasMKL());
    set_threads(1);
    EXPECT_EQ(torch::get_num_threads(), 1);
    set_threads(2);
    EXPECT_EQ(torch::get_num_threads(), 2);
  } else {
    using GetFn = int (*)();
    auto openblas = reinterpret_cast<GetFn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    // The project's machines use OpenBLAS (scripts/install-deps); make sure it is the BLAS here.
    ASSERT_NE(openblas, nullptr) << "OpenBLAS is not this process's BLAS";
    set_threads(1);
    EXPECT_EQ(torch::get_num_threads(), 1);
    EXPECT_EQ(openblas(), 1);
    set_threads(2);
    EXPECT_EQ(torch::get_num_threads(), 2);
    EXPECT_EQ(openblas(), 2);
  }
  EXPECT_GE(default_threads(), 1);
}

// [audit] precision = bf16 runs the training stages under this guard (torch_compat.hpp, both
// LibTorch lines): a float32 product comes out in bf16 inside it, float32 again after it.
TEST(TorchCompat, AutocastGuardCastsProductsToBf16AndRestoresTheState) {
  const auto a = torch::rand({4, 4}), b = torch::rand({4, 4});
  ASSERT_FALSE(torch_compat::AutocastGuard::enabled(c10::kCPU));
  {
    torch_compat::AutocastGuard guard(c10::kCPU, at::kBFloat16);
    EXPECT_TRUE(torch_compat::AutocastGuard::enabled(c10::kCPU));
    EXPECT_EQ(torch::mm(a, b).scalar_type(), at::kBFloat16);
    {
      torch_compat::AutocastGuard nested(c10::kCPU, at::kBFloat16);
      EXPECT_EQ(torch::mm(a, b).scalar_type(), at::kBFloat16);
    }
    EXPECT_TRUE(torch_compat::AutocastGuard::enabled(c10::kCPU));
  }
  EXPECT_FALSE(torch_compat::AutocastGuard::enabled(c10::kCPU));
  EXPECT_EQ(torch::mm(a, b).scalar_type(), at::kFloat);
}

TEST(Threads, LoopsBelowTheMeasuredStepSizeRunOnOneThread) {
  const ThreadPolicy every_core{4, false};
  EXPECT_EQ(loop_threads(every_core, 0.45e6), 1);  // about the toy config's mlp
  EXPECT_EQ(loop_threads(every_core, kParallelStepFlops - 1), 1);
  EXPECT_EQ(loop_threads(every_core, kParallelStepFlops), 4);
  EXPECT_EQ(loop_threads(every_core, 1e12), 4);
  // An estimate gone wrong gets the stage's threads.
  EXPECT_EQ(loop_threads(every_core, std::nan("")), 4);
  // A count set by the config is never changed.
  const ThreadPolicy fixed{3, true};
  EXPECT_EQ(loop_threads(fixed, 1.0), 3);
  EXPECT_EQ(loop_threads(fixed, 1e12), 3);
  EXPECT_EQ(describe_loop_threads(every_core, 7.02e6),
            "1 intra-op thread (7.0 MFLOP per step, below 40 MFLOP)");
  EXPECT_EQ(describe_loop_threads(every_core, 451.1e6),
            "4 intra-op threads (451.1 MFLOP per step, at least 40 MFLOP)");
  EXPECT_EQ(describe_loop_threads(fixed, 1.0), "3 intra-op threads ([audit] threads)");
  EXPECT_EQ(thread_policy(5).stage_threads, 5);
  EXPECT_TRUE(thread_policy(5).fixed);
  EXPECT_EQ(thread_policy(0).stage_threads, default_threads());
  EXPECT_FALSE(thread_policy(0).fixed);
}

TEST(Threads, TheHostContextSetsAndLogsTheLoopsThreads) {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  testing::TempDir dir;
  HostContext ctx({}, logger, 1, dir.path(), torch::kCPU, nullptr, ThreadPolicy{2, false});
  set_threads(2);
  EXPECT_EQ(ctx.loop_threads("training the toy", 1e6), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(ctx.loop_threads("training the big one", 1e9), 2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_THAT(log.str(), ::testing::HasSubstr(
                             "training the toy: 1 intra-op thread (1.0 MFLOP per step, below 40 "
                             "MFLOP)"));
  EXPECT_THAT(log.str(), ::testing::HasSubstr("training the big one: 2 intra-op threads"));
}

}  // namespace
}  // namespace panoramia
