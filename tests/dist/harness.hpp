#pragma once
// The data-parallel tests' harness: spawns `dist_probe` ranks (each with its stderr in a log
// file), waits for them with a limit, and compares the states they save.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../host/test_util.hpp"
#include "dist/communicator.hpp"

extern char** environ;

namespace panoramia::testing {

struct Child {
  pid_t pid = -1;
  std::filesystem::path log;
};

inline Child spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::vector<std::string> all{(build_dir() / "tests" / "dist_probe").string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  Child c;
  c.log = log;
  EXPECT_EQ(posix_spawn(&c.pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return c;
}

// Waits for `c` at most `limit`; returns its exit code (-1: still running, then killed).
inline int wait_for(const Child& c, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(c.pid, SIGKILL);
  waitpid(c.pid, nullptr, 0);
  return -1;
}

inline std::vector<at::Tensor> load_state(const std::filesystem::path& file) {
  std::vector<at::Tensor> state;
  torch::load(state, file.string());
  return state;
}

inline double max_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].sizes(), b[i].sizes()) << "tensor " << i;
    worst = std::max(
        worst, (a[i].to(torch::kFloat64) - b[i].to(torch::kFloat64)).abs().max().item<double>());
  }
  return worst;
}

// Runs `dist_probe --model MODEL --epochs EPOCHS` as one process and as two ranks on loopback;
// expects the ranks to hold bit-identical states, equal to the one-process state within
// `tolerance`, and the one-process state to be farther than `moved` from zero (so the comparison
// means something). Returns the largest difference.
inline double expect_two_ranks_match_one(const std::string& model, const std::string& epochs,
                                         double tolerance = 1e-5, double moved = 1e-2) {
  TempDir dir;
  const auto one = spawn({"--model", model, "--epochs", epochs, "--out", (dir / "one.pt").string()},
                         dir / "one.log");
  const int one_code = wait_for(one, std::chrono::seconds(600));
  EXPECT_EQ(one_code, 0) << read_file(dir / "one.log");
  if (one_code != 0) return -1;
  const std::string master = "127.0.0.1:" + std::to_string(dist::free_loopback_port());
  std::vector<Child> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(
        spawn({"--model", model, "--epochs", epochs, "--world", "2", "--rank", std::to_string(r),
               "--master", master, "--out", (dir / ("rank" + std::to_string(r) + ".pt")).string()},
              dir / ("rank" + std::to_string(r) + ".log")));
  bool ranks_ok = true;
  for (int r = 0; r < 2; ++r) {
    const int code = wait_for(ranks[r], std::chrono::seconds(600));
    EXPECT_EQ(code, 0) << read_file(dir / ("rank" + std::to_string(r) + ".log"));
    ranks_ok = ranks_ok && code == 0;
  }
  if (!ranks_ok) return -1;
  const auto reference = load_state(dir / "one.pt");
  const auto rank0 = load_state(dir / "rank0.pt");
  const auto rank1 = load_state(dir / "rank1.pt");
  // The ranks hold bit-identical weights (same summed gradients, same optimiser steps).
  EXPECT_EQ(max_difference(rank0, rank1), 0.0);
  // And they equal the one-process run up to floating-point summation order.
  const double diff = max_difference(rank0, reference);
  EXPECT_LT(diff, tolerance) << model;
  // Training moved the weights well beyond that tolerance, so the comparison means something.
  std::vector<at::Tensor> zeros;
  for (const auto& t : reference) zeros.push_back(torch::zeros_like(t));
  EXPECT_GT(max_difference(reference, zeros), moved);
  std::cout << model << ": max |2 ranks - 1 process| = " << diff << "\n";
  return diff;
}

}  // namespace panoramia::testing
