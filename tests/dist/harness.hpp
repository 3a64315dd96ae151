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
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dist/communicator.hpp"
#include "support/run_panoramia.hpp"

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
// expects the ranks to hold bit-identical states, each tensor equal to the one-process one within
// its tolerances, and the one-process state to be farther than `moved` from zero (so the
// comparison means something). The tolerances are the probe's own, derived from its settings
// (probes.hpp, tolerance.hpp): every element within its tensor's hard bound, all but the probe's
// allowance of outliers within the tight one; unless `tolerance` is given (one for every element:
// 0 for exact equality, infinity for none). Prints the largest difference, the largest difference
// / tight tolerance and the elements above it; returns the largest difference.
inline double expect_two_ranks_match_one(const std::string& model, const std::string& epochs,
                                         std::optional<double> tolerance = std::nullopt,
                                         double moved = 1e-2) {
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
  // And they equal the one-process run up to what floating-point summation order can change.
  std::vector<double> tight, hard;
  double outliers = 0;
  if (tolerance) {
    tight.assign(reference.size(), *tolerance);
  } else {
    const auto file = dir / "one.pt.tolerance";
    EXPECT_TRUE(std::filesystem::exists(file)) << model << " derives no tolerance";
    if (!std::filesystem::exists(file)) return -1;
    // The one-process run's (the ranks' differ from it only as their states do).
    const auto saved = load_state(file);
    const auto t = saved.at(0).contiguous();
    for (std::int64_t i = 0; i < t.size(0); ++i) {
      tight.push_back(t[i][0].item<double>());
      hard.push_back(t[i][1].item<double>());
    }
    outliers = saved.at(1).item<double>();
    if (tight.size() == 1)
      tight.assign(reference.size(), tight[0]), hard.assign(tight.size(), hard[0]);
    EXPECT_EQ(tight.size(), reference.size()) << model << ": one tolerance per tensor";
    // An output the weights determine may also move by the first-order effect of their actual
    // differences (each checked against its own bounds here).
    const auto output = static_cast<std::int64_t>(saved.at(2).item<double>());
    if (output >= 0 && std::size_t(output) < tight.size()) {
      double first_order = 0;
      for (std::size_t i = 3; i < saved.size() && i - 3 < std::min(rank0.size(), reference.size());
           ++i)
        if (saved[i].numel() > 0 && saved[i].sizes() == reference[i - 3].sizes())
          first_order +=
              (saved[i] *
               (rank0[i - 3].to(torch::kFloat64) - reference[i - 3].to(torch::kFloat64)).abs())
                  .sum()
                  .item<double>();
      std::cout << model << ": tensor " << output << " may move by " << first_order
                << " with the weights' differences, " << tight[output] << " by its own rounding\n";
      tight[output] += first_order;
      hard[output] += first_order;
    }
  }
  if (hard.size() != tight.size()) hard = tight;
  double diff = 0, ratio = 0, over = 0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < std::min({reference.size(), rank0.size(), tight.size()}); ++i) {
    EXPECT_EQ(rank0[i].sizes(), reference[i].sizes()) << model << ": tensor " << i;
    const auto d = (rank0[i].to(torch::kFloat64) - reference[i].to(torch::kFloat64)).abs();
    const double max = d.numel() == 0 ? 0.0 : d.max().item<double>();
    EXPECT_LE(max, hard[i]) << model << ": tensor " << i << " " << reference[i].sizes();
    const double above = (d > tight[i]).sum().item<double>();
    over += above;
    if (above > 0)
      std::cout << model << ": tensor " << i << " " << reference[i].sizes() << ": " << above
                << " element(s) above the tight tolerance " << tight[i] << " (max " << max
                << ", hard " << hard[i] << ")\n";
    diff = std::max(diff, max);
    const double r = max == 0 ? 0.0 : max / tight[i];
    if (r >= ratio) ratio = r, worst = i;
  }
  EXPECT_LE(over, outliers) << model << ": elements above their tight tolerance";
  EXPECT_EQ(rank0.size(), reference.size());
  // Training moved the weights well beyond the tolerances, so the comparison means something.
  std::vector<at::Tensor> zeros;
  for (const auto& t : reference) zeros.push_back(torch::zeros_like(t));
  EXPECT_GT(max_difference(reference, zeros), moved);
  std::cout << model << ": max |2 ranks - 1 process| = " << diff
            << "; largest difference / tolerance = " << ratio << " (tensor " << worst
            << ", tolerance " << (tight.empty() ? 0.0 : tight[worst]) << "); " << over
            << " element(s) above it (" << outliers << " allowed)\n";
  return diff;
}

}  // namespace panoramia::testing
