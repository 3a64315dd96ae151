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

#include "cli/commands.hpp"
#include "dist/communicator.hpp"
#include "plugin_error.hpp"

extern char** environ;

namespace panoramia::cli {
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

struct LaunchArgs {
  int ranks = 0, port = 0;
  bool help = false;
  std::vector<std::string> audit_args;
};

LaunchArgs parse_launch_args(const std::vector<std::string>& args) {
  LaunchArgs out;
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
      out.help = true;
      return out;
    }
    if (a == "-n" || a == "--ranks")
      out.ranks = number(i, a);
    else if (a == "--port")
      out.port = number(i, a);
    else if (a == "--world-size" || a == "--rank" || a == "--master")
      throw UserError("launch: " + a + " is set by launch itself (use -n N)");
    else
      out.audit_args.push_back(a);
  }
  if (out.ranks < 1) throw UserError("launch: missing -n N (the number of ranks)");
  if (out.audit_args.empty())
    throw UserError("launch: missing CONFIG (see 'panoramia launch --help')");
  return out;
}

// This process's environment with PANORAMIA_LOCAL_WORLD_SIZE set to the rank count and
// LOCAL_RANK to the rank's index on this machine (as torchrun sets it: a CUDA rank takes that GPU).
std::vector<std::string> rank_environment(int ranks, int rank) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "PANORAMIA_LOCAL_WORLD_SIZE=", 27) != 0 &&
        std::strncmp(*e, "LOCAL_RANK=", 11) != 0)
      env.emplace_back(*e);
  env.push_back("PANORAMIA_LOCAL_WORLD_SIZE=" + std::to_string(ranks));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts `panoramia audit ARGS --world-size N --rank r --master 127.0.0.1:PORT` for every rank;
// if one cannot start, stops those already started and throws.
std::vector<pid_t> spawn_ranks(const std::string& exe, const LaunchArgs& launch) {
  std::vector<pid_t> pids;
  for (int r = 0; r < launch.ranks; ++r) {
    auto env = rank_environment(launch.ranks, r);
    const auto envp = c_strings(env);
    std::vector<std::string> argv{exe, "audit"};
    argv.insert(argv.end(), launch.audit_args.begin(), launch.audit_args.end());
    argv.insert(argv.end(),
                {"--world-size", std::to_string(launch.ranks), "--rank", std::to_string(r),
                 "--master", "127.0.0.1:" + std::to_string(launch.port)});
    const auto child_argv = c_strings(argv);
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
  return pids;
}

// Waits for every rank. When one fails (or this process gets SIGINT/SIGTERM), the others get 15 s
// to stop on their own, then SIGTERM, then 5 s later SIGKILL. Returns the first failure's exit
// code (128 + signal for a signal), 0 when every rank succeeded.
int supervise(const std::vector<pid_t>& pids) {
  using clock = std::chrono::steady_clock;
  const auto ranks = pids.size();
  int result = 0;
  std::size_t alive = ranks;
  std::vector<bool> done(ranks, false);
  clock::time_point failed_at{}, terminated_at{};
  bool failing = false, terminated = false, killed = false;
  const auto signal_alive = [&](int sig) {
    for (std::size_t r = 0; r < ranks; ++r)
      if (!done[r]) ::kill(pids[r], sig);
  };
  while (alive > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (std::size_t r = 0; r < ranks; ++r) {
        if (pids[r] != pid) continue;
        done[r] = true;
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
      signal_alive(SIGTERM);
      terminated = true;
      terminated_at = now;
    }
    if (terminated && !killed && now - terminated_at > std::chrono::seconds(5)) {
      signal_alive(SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

}  // namespace

int cmd_launch(const std::vector<std::string>& args, const char* argv0) {
  LaunchArgs launch = parse_launch_args(args);
  if (launch.help) {
    std::cout << kLaunchUsage;
    return 0;
  }
  if (launch.port == 0) launch.port = dist::free_loopback_port();
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string exe = ec ? std::string(argv0) : self.string();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto pids = spawn_ranks(exe, launch);
  std::cerr << "launch: " << launch.ranks << " rank(s) on 127.0.0.1:" << launch.port << "\n";
  return supervise(pids);
}

}  // namespace panoramia::cli
