// The front end's choice of OpenBLAS kernels: the rule (only cores older than the CPU's vector
// instructions are replaced), the CPU's instructions as cpuid reads them against the kernel's own
// reading (/proc/cpuinfo), and what `panoramia doctor` reports the engine's OpenBLAS runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "blas_core.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;

TEST(BlasCore, OnlyCoresOlderThanTheCpusInstructionsAreReplaced) {
  const blas::CpuVectors avx512{true, true}, avx2{true, false}, sse{false, false};
  EXPECT_EQ(blas::better_core("Prescott", avx512), "SkylakeX");
  EXPECT_EQ(blas::better_core("Prescott", avx2), "Haswell");
  EXPECT_EQ(blas::better_core("Nehalem", avx2), "Haswell");
  EXPECT_EQ(blas::better_core("Sandybridge", avx512), "SkylakeX");
  EXPECT_EQ(blas::better_core("Prescott", sse), "");  // nothing better to run
  // Cores OpenBLAS chose with AVX2 or AVX-512 kernels stay, as do names it may add.
  for (const char* kept : {"Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen", ""})
    EXPECT_EQ(blas::better_core(kept, avx512), "") << kept;
}

// The "flags" line of /proc/cpuinfo: what the kernel found with cpuid and enabled with XSAVE.
std::set<std::string> kernel_cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

TEST(BlasCore, TheCpusVectorInstructionsAgreeWithTheKernels) {
  const auto flags = kernel_cpu_flags();
  ASSERT_FALSE(flags.empty()) << "/proc/cpuinfo has no flags line";
  const auto has = [&](const char* f) { return flags.count(f) > 0; };
  const auto cpu = blas::cpu_vectors();
  EXPECT_EQ(cpu.avx2_fma, has("avx2") && has("fma"));
  EXPECT_EQ(cpu.avx512, cpu.avx2_fma && has("avx512f") && has("avx512dq") && has("avx512bw") &&
                            has("avx512vl"));
}

// Where OpenBLAS is the engine's BLAS (Debian's LibTorch), doctor names its core and who chose
// it; on a CPU with AVX2 it is never one of OpenBLAS's pre-AVX2 cores, and a user's
// OPENBLAS_CORETYPE is kept.
TEST(BlasCore, TheEnginesOpenBlasRunsKernelsForThisCpu) {
  const auto doctor =
      testing::run_shell("env -u OPENBLAS_CORETYPE '" + testing::binary().string() + "' doctor");
  ASSERT_EQ(doctor.exit_code, 0) << doctor.output;
  if (doctor.output.find("OpenBLAS config") == std::string::npos) {
    // The 2.x line: Intel MKL inside LibTorch, no OpenBLAS mapped and no row for it.
    EXPECT_THAT(doctor.output, HasSubstr("Intel MKL, linked into LibTorch"));
    EXPECT_THAT(doctor.output, ::testing::Not(HasSubstr("OpenBLAS core")));
    return;
  }
  const auto at = doctor.output.find("OpenBLAS core");
  ASSERT_NE(at, std::string::npos) << doctor.output;
  const std::string row = doctor.output.substr(at, doctor.output.find('\n', at) - at);
  if (blas::cpu_vectors().avx2_fma) {
    for (const char* older : {"Prescott", "Core2", "Penryn", "Nehalem", "Sandybridge", "Atom"})
      EXPECT_THAT(row, ::testing::Not(
                           ::testing::StartsWith(std::string("OpenBLAS core          ") + older)))
          << row;
  }
  const auto user =
      testing::run_shell("OPENBLAS_CORETYPE=Haswell '" + testing::binary().string() + "' doctor");
  EXPECT_THAT(user.output, HasSubstr("OpenBLAS core          Haswell, from environment"));
}

}  // namespace
}  // namespace panoramia
