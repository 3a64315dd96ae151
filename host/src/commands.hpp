#pragma once
// Commands with their own translation unit (the rest live in main.cpp).

#include <string>
#include <vector>

namespace panoramia {

/// `panoramia launch -n N CONFIG [audit options]`: starts N local ranks of `panoramia audit` on a
/// free loopback port and waits; when one fails, the others get a grace period to fail on their
/// own, then are stopped. Returns the first failing rank's exit code, or 0.
int cmd_launch(const std::vector<std::string>& args, const char* argv0);

/// `panoramia doctor`: what this process actually runs on (LibTorch, BLAS, threads, CUDA,
/// plugins). Exits 1 when something would make audits slow or impossible.
int cmd_doctor(const std::vector<std::string>& args);

}  // namespace panoramia
