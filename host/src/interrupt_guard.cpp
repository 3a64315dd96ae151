#include "interrupt_guard.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "results_db.hpp"

namespace panoramia {
namespace {

constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
std::atomic<int> g_write_end{-1};
std::array<struct sigaction, kSignals.size()> g_previous{};

void on_signal(int signal_number) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  const int fd = g_write_end.load();
  if (fd >= 0) {
    const ssize_t written = ::write(fd, &byte, 1);  // a full pipe: a signal is pending already
    static_cast<void>(written);
  }
  errno = saved;
}

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

}  // namespace

InterruptGuard::InterruptGuard(std::filesystem::path db, std::int64_t run,
                               std::shared_ptr<spdlog::logger> logger)
    : db_(std::move(db)), run_(run), logger_(std::move(logger)) {
  if (g_write_end.load() >= 0) throw std::logic_error("InterruptGuard: a guard is already active");
  if (::pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("cannot create the signal pipe");
  g_write_end.store(pipe_[1]);
  watcher_ = std::thread([this] { watch(); });
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

InterruptGuard::~InterruptGuard() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  const unsigned char stop = 0;
  const ssize_t written = ::write(pipe_[1], &stop, 1);
  static_cast<void>(written);
  watcher_.join();
  g_write_end.store(-1);
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

void InterruptGuard::watch() {
  unsigned char byte = 0;
  for (;;) {
    const auto got = ::read(pipe_[0], &byte, 1);
    if (got == 1) break;
    if (got < 0 && errno == EINTR) continue;
    return;
  }
  if (byte == 0) return;  // the guard is going away
  const int signal_number = byte;
  try {
    ResultsDb db(db_);
    db.interrupt_run(run_, std::string("stopped by ") + signal_name(signal_number));
    logger_->warn("{}: run {} marked interrupted in {}", signal_name(signal_number), run_,
                  db_.string());
  } catch (const std::exception& e) {
    logger_->error("{}: run {} could not be marked interrupted: {}", signal_name(signal_number),
                   run_, e.what());
  }
  logger_->flush();
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(signal_number, &fallback, nullptr);
  ::kill(::getpid(), signal_number);
}

}  // namespace panoramia
