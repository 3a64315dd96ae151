#pragma once
// While an audit runs, SIGINT, SIGTERM and SIGHUP mark its run `interrupted` in the results
// database before the process ends as the signal asks (so `runs` never shows a stopped audit as
// `running`). The handler only writes the signal number to a pipe (async-signal-safe); a watcher
// thread does the database write in an ordinary context, then restores the default action and
// re-sends the signal, so the exit status still says which signal ended the process.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include <spdlog/logger.h>

namespace panoramia {

class InterruptGuard {
 public:
  /// Installs the handlers for the run `run` of the database at `db`; at most one guard at a time.
  InterruptGuard(std::filesystem::path db, std::int64_t run,
                 std::shared_ptr<spdlog::logger> logger);
  /// Restores the earlier handlers and stops the watcher.
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  void watch();

  std::filesystem::path db_;
  std::int64_t run_;
  std::shared_ptr<spdlog::logger> logger_;
  int pipe_[2] = {-1, -1};
  std::thread watcher_;
};

}  // namespace panoramia
