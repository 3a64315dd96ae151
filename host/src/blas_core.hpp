#pragma once
// OpenBLAS picks its kernels for the CPU once, when it is loaded, from the CPU model it knows. On
// a model it does not know (Debian 12's OpenBLAS 0.3.21 on newer or virtualised Xeons) it falls
// back to its oldest x86-64 kernels (Prescott: SSE3), several times slower than the AVX2 or
// AVX-512 kernels the CPU can run. The front end asks a child process which core OpenBLAS takes
// and, when it took an older core than the CPU supports, sets OPENBLAS_CORETYPE before the engine
// loads LibTorch (and OpenBLAS with it). A user's OPENBLAS_CORETYPE is left as it is. No LibTorch
// here.

#include <string>

namespace panoramia::blas {

/// The environment variable that tells the engine who chose the OpenBLAS core.
inline constexpr const char* kCoreSource = "PANORAMIA_OPENBLAS_CORETYPE_SOURCE";

/// The vector instructions this CPU and its operating system support (cpuid and xgetbv).
struct CpuVectors {
  bool avx2_fma = false;  // AVX2 and FMA3, with the YMM state enabled
  bool avx512 = false;    // AVX-512 F, DQ, BW and VL (what OpenBLAS's SkylakeX kernels use)
};

CpuVectors cpu_vectors();

/// The core to ask OpenBLAS for when it took this CPU for `detected` (its core name), or "" to
/// keep `detected`: SkylakeX on AVX-512 CPUs and Haswell on AVX2 CPUs, replacing only cores
/// older than those instruction sets (Prescott, Core2, Nehalem, Sandybridge and alike).
std::string better_core(const std::string& detected, const CpuVectors& cpu);

/// The core OpenBLAS takes for this CPU on its own, asked in a child process that loads the
/// system's BLAS (libblas.so.3, else libopenblas.so.0); "" when that is not OpenBLAS or the child
/// could not tell.
std::string openblas_core_unaided();

/// Sets OPENBLAS_CORETYPE (and kCoreSource) as the file comment says; call before LibTorch loads.
void choose_core();

}  // namespace panoramia::blas
