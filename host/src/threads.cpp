#include "threads.hpp"

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>

namespace panoramia {

int default_threads() {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  int local_ranks = 1;
  if (const char* env = std::getenv("PANORAMIA_LOCAL_WORLD_SIZE"); env != nullptr)
    local_ranks = std::max(1, std::atoi(env));
  return std::max(1, cores / local_ranks);
}

ThreadPolicy thread_policy(long long configured_threads) {
  if (configured_threads > 0) return {static_cast<int>(configured_threads), true};
  return {default_threads(), false};
}

int loop_threads(const ThreadPolicy& policy, double flops_per_step) {
  if (policy.fixed) return policy.stage_threads;
  // NaN (an estimate gone wrong) counts as large: the stage's threads are never a wrong answer.
  return flops_per_step < kParallelStepFlops ? 1 : policy.stage_threads;
}

std::string describe_loop_threads(const ThreadPolicy& policy, double flops_per_step) {
  const int threads = loop_threads(policy, flops_per_step);
  const std::string count = fmt::format("{} intra-op thread{}", threads, threads == 1 ? "" : "s");
  if (policy.fixed) return count + " ([audit] threads)";
  const std::string work = std::isfinite(flops_per_step)
                               ? fmt::format("{:.1f} MFLOP per step", flops_per_step / 1e6)
                               : std::string("unknown work per step");
  return fmt::format("{} ({}, {} {:.0f} MFLOP)", count, work,
                     flops_per_step < kParallelStepFlops ? "below" : "at least",
                     kParallelStepFlops / 1e6);
}

void set_threads(int threads) {
  at::set_num_threads(threads);
  using SetFn = void (*)(int);
  if (auto set = reinterpret_cast<SetFn>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(threads);
}

}  // namespace panoramia
