#pragma once
// Intra-op threads: how many cores a rank uses, and the rule that gives a loop one thread or every
// core from the work of its steps.

#include <string>

namespace panoramia {

/// The smallest work per step (floating-point operations) from which a loop runs on every core
/// under `[audit] threads = 0`. Measured with scripts/bench-threads on the project's 2-core machine
/// (OpenBLAS, passive OpenMP waiting; table in the README, "Threads"): dense-network training steps
/// of 7 and 28 MFLOP ran as fast on one thread as on two (speed-up 0.98 and 1.02), steps of 43
/// MFLOP and more gained (1.24 at 43, 1.39 at 113, about 1.5 from 170). Smaller steps spend what a
/// second thread would save on waking it and joining it at every operation.
inline constexpr double kParallelStepFlops = 40e6;

/// The intra-op threads of an audit's stages: `[audit] threads` when the config sets it (fixed: the
/// rule never changes it), otherwise every core available to the rank.
struct ThreadPolicy {
  int stage_threads = 1;
  bool fixed = false;
};

/// The intra-op threads of a rank when `[audit] threads` is 0: the cores this process may run on,
/// divided among the ranks started on this machine (PANORAMIA_LOCAL_WORLD_SIZE, set by `launch`).
int default_threads();

/// The policy for a value of `[audit] threads` (0: every core available).
ThreadPolicy thread_policy(long long configured_threads);

/// The threads for a loop whose steps cost `flops_per_step` each: the fixed count, or one thread
/// below kParallelStepFlops and the stage's threads from there.
int loop_threads(const ThreadPolicy& policy, double flops_per_step);

/// Why loop_threads chose what it chose, for the log (e.g. "7.0 MFLOP per step, below 40 MFLOP").
std::string describe_loop_threads(const ThreadPolicy& policy, double flops_per_step);

/// Sets the intra-op threads of this process: LibTorch's (OpenMP) and OpenBLAS's own pool, which
/// LibTorch's setting does not reach (OpenBLAS would otherwise start one thread per core in every
/// rank).
void set_threads(int threads);

}  // namespace panoramia
