#pragma once
/// \file
/// The statistics' own small thread pool: independent tasks (a column, a piece of a null
/// distribution, a chunk of a CSV file) on the cores the process may use. Each task writes only
/// its own output slot, so results do not depend on the number of threads.

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace panoramia::stats {

/// The cores this process may run on (its affinity mask, else the hardware's count).
inline unsigned available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Runs task(i) for every i in [0, n) on up to `workers` threads (the calling thread is one of
/// them). The exception of the first failed task, in task order, is rethrown after all finish.
template <class Task>
void for_each_task(std::size_t n, unsigned workers, const Task& task) {
  std::vector<std::exception_ptr> errors(n);
  const auto run = [&](std::size_t i) {
    try {
      task(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  const std::size_t threads = std::min<std::size_t>(n, std::max(1u, workers));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) run(i);
  } else {
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
      for (std::size_t i = next++; i < n; i = next++) run(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& thread : pool) thread.join();
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

}  // namespace panoramia::stats
