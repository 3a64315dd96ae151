// [audit] threads is the one place intra-op threads are set: LibTorch's pool and OpenBLAS's own.
#include <dlfcn.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pipeline.hpp"

namespace panoramia {
namespace {

TEST(Threads, SetThreadsReachesLibTorchAndOpenBlas) {
  using GetFn = int (*)();
  auto openblas = reinterpret_cast<GetFn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  // The project's machines use OpenBLAS (scripts/install-deps); make sure it is the BLAS here.
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  ASSERT_NE(openblas, nullptr) << "OpenBLAS is not this process's BLAS";
  set_threads(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(openblas(), 1);
  set_threads(2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_EQ(openblas(), 2);
  EXPECT_GE(default_threads(), 1);
}

}  // namespace
}  // namespace panoramia
