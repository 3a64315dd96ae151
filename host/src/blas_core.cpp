#include "blas_core.hpp"

#include <cpuid.h>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace panoramia::blas {

CpuVectors cpu_vectors() {
  CpuVectors v;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return v;
  const bool fma = (c & bit_FMA) != 0, osxsave = (c & bit_OSXSAVE) != 0, avx = (c & bit_AVX) != 0;
  if (!osxsave || !avx) return v;
  // Which register states the operating system saves: XMM and YMM (bits 1, 2); opmask, ZMM
  // upper halves and ZMM16-31 (bits 5, 6, 7).
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool ymm = (lo & 0x6) == 0x6, zmm = (lo & 0xe6) == 0xe6;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return v;
  v.avx2_fma = ymm && fma && (b & bit_AVX2) != 0;
  const unsigned avx512 = bit_AVX512F | bit_AVX512DQ | bit_AVX512BW | bit_AVX512VL;
  v.avx512 = v.avx2_fma && zmm && (b & avx512) == avx512;
  return v;
}

std::string better_core(const std::string& detected, const CpuVectors& cpu) {
  // OpenBLAS's x86-64 cores without AVX2 (the names openblas_get_corename returns); the generic
  // fallback for an unknown CPU is Prescott.
  static constexpr std::array<const char*, 12> kOlder = {
      "Prescott",    "Core2",  "Penryn",     "Dunnington", "Nehalem", "Atom",
      "Sandybridge", "Katmai", "Coppermine", "Northwood",  "Banias",  "Barcelona"};
  bool older = false;
  for (const char* name : kOlder) older = older || detected == name;
  if (!older) return "";
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2_fma) return "Haswell";
  return "";
}

std::string openblas_core_unaided() {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "";
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return "";
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::unsetenv("OPENBLAS_CORETYPE");
    ::setenv("OPENBLAS_NUM_THREADS", "1", 1);  // no worker threads for a question
    void* handle = ::dlopen("libblas.so.3", RTLD_NOW | RTLD_LOCAL);
    using CoreFn = char* (*)();
    auto core =
        handle ? reinterpret_cast<CoreFn>(::dlsym(handle, "openblas_get_corename")) : nullptr;
    if (core == nullptr) {
      handle = ::dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
      core = handle ? reinterpret_cast<CoreFn>(::dlsym(handle, "openblas_get_corename")) : nullptr;
    }
    if (core != nullptr) {
      const char* name = core();
      if (name != nullptr && ::write(pipe_fds[1], name, std::strlen(name)) < 0) ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string name;
  char buffer[64];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0 && name.size() < 64;)
    name.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  // Only a plain name (OpenBLAS's own) is passed on.
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return "";
  return name;
}

void choose_core() {
  if (const char* user = std::getenv("OPENBLAS_CORETYPE"); user != nullptr && *user) {
    ::setenv(kCoreSource, "environment", 0);
    return;
  }
  const std::string detected = openblas_core_unaided();
  const std::string better = better_core(detected, cpu_vectors());
  if (better.empty()) return;
  ::setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
  ::setenv(kCoreSource,
           ("panoramia (OpenBLAS took this CPU for " + detected + ", older than it is)").c_str(),
           1);
}

}  // namespace panoramia::blas
