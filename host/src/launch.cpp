#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "dist/communicator.hpp"
#include "plugin_error.hpp"

extern char** environ;

namespace panoramia {
namespace {

constexpr const char* kLaunchUsage = R"(usage: panoramia launch -n N CONFIG [audit options]

Runs 'panoramia audit CONFIG [audit options]' as N data-parallel ranks on this machine (rendezvous
on a free loopback port, or --port P). Each rank gets cores / N intra-op threads unless
[audit] threads says otherwise. Only rank 0 writes the cache and the results database.
)";

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) {
  g_signal = sig;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "exited with code " + std::to_string(exit_code(status));
}

}  // namespace

int cmd_launch(const std::vector<std::string>& args, const char* argv0) {
  int ranks = 0, port = 0;
  std::vector<std::string> audit_args;
  auto number = [&](std::size_t& i, const std::string& flag) {
    if (i + 1 >= args.size()) throw UserError("launch: " + flag + " needs a value");
    const std::string v = args[++i];
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 65535)
      throw UserError("launch: " + flag + " '" + v + "' is not a positive integer");
    return static_cast<int>(n);
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kLaunchUsage;
      return 0;
    }
    if (a == "-n" || a == "--ranks")
      ranks = number(i, a);
    else if (a == "--port")
      port = number(i, a);
    else if (a == "--world-size" || a == "--rank" || a == "--master")
      throw UserError("launch: " + a + " is set by launch itself (use -n N)");
    else
      audit_args.push_back(a);
  }
  if (ranks < 1) throw UserError("launch: missing -n N (the number of ranks)");
  if (audit_args.empty()) throw UserError("launch: missing CONFIG (see 'panoramia launch --help')");
  if (port == 0) port = dist::free_loopback_port();

  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string exe = ec ? std::string(argv0) : self.string();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "PANORAMIA_LOCAL_WORLD_SIZE=", 27) != 0) env_strings.emplace_back(*e);
  env_strings.push_back("PANORAMIA_LOCAL_WORLD_SIZE=" + std::to_string(ranks));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::vector<pid_t> pids;
  for (int r = 0; r < ranks; ++r) {
    std::vector<std::string> argv_strings{exe, "audit"};
    argv_strings.insert(argv_strings.end(), audit_args.begin(), audit_args.end());
    argv_strings.insert(argv_strings.end(),
                        {"--world-size", std::to_string(ranks), "--rank", std::to_string(r),
                         "--master", "127.0.0.1:" + std::to_string(port)});
    std::vector<char*> child_argv;
    for (auto& s : argv_strings) child_argv.push_back(s.data());
    child_argv.push_back(nullptr);
    pid_t pid = 0;
    if (const int err =
            posix_spawn(&pid, exe.c_str(), nullptr, nullptr, child_argv.data(), envp.data());
        err != 0) {
      for (pid_t p : pids) ::kill(p, SIGTERM);
      throw std::runtime_error("launch: cannot start rank " + std::to_string(r) + " (" + exe +
                               "): " + std::strerror(err));
    }
    pids.push_back(pid);
  }
  std::cerr << "launch: " << ranks << " rank(s) on 127.0.0.1:" << port << "\n";

  using clock = std::chrono::steady_clock;
  int result = 0, alive = ranks;
  std::vector<bool> done(static_cast<std::size_t>(ranks), false);
  clock::time_point failed_at{}, terminated_at{};
  bool failing = false, terminated = false, killed = false;
  while (alive > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int r = 0; r < ranks; ++r) {
        if (pids[static_cast<std::size_t>(r)] != pid) continue;
        done[static_cast<std::size_t>(r)] = true;
        --alive;
        if (exit_code(status) != 0 && !failing) {
          failing = true;
          failed_at = clock::now();
          result = exit_code(status);
          std::cerr << "launch: rank " << r << " " << describe(status)
                    << "; the other ranks stop on their own or in 15 s\n";
        }
      }
      continue;
    }
    if (g_signal != 0 && !terminated) {
      std::cerr << "launch: " << strsignal(g_signal) << ", stopping every rank\n";
      if (result == 0) result = 128 + g_signal;
      failing = true;
      failed_at = clock::now() - std::chrono::hours(1);
    }
    const auto now = clock::now();
    if (failing && !terminated && now - failed_at > std::chrono::seconds(15)) {
      for (int r = 0; r < ranks; ++r)
        if (!done[static_cast<std::size_t>(r)]) ::kill(pids[static_cast<std::size_t>(r)], SIGTERM);
      terminated = true;
      terminated_at = now;
    }
    if (terminated && !killed && now - terminated_at > std::chrono::seconds(5)) {
      for (int r = 0; r < ranks; ++r)
        if (!done[static_cast<std::size_t>(r)]) ::kill(pids[static_cast<std::size_t>(r)], SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

}  // namespace panoramia
