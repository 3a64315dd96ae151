#pragma once
// What the C++ benchmarks share: their "--name value" command lines, the wall clock, and the
// Adult-sized random table the tabular ones train on (the .py twins draw theirs alike).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include <torch/torch.h>

namespace panoramia::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Reads "--name value" pairs into the integers and strings named; prints the first unknown or
/// malformed argument and returns false.
inline bool parse_flags(int argc, char** argv, const std::map<std::string, std::int64_t*>& ints,
                        const std::map<std::string, std::string*>& strings = {}) {
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "argument %s needs a value\n", name.c_str());
      return false;
    }
    if (const auto s = strings.find(name); s != strings.end()) {
      *s->second = argv[i + 1];
      continue;
    }
    const auto n = ints.find(name);
    if (n == ints.end()) {
      std::fprintf(stderr, "unknown argument %s\n", name.c_str());
      return false;
    }
    try {
      *n->second = std::stoll(argv[i + 1]);
    } catch (const std::exception&) {
      std::fprintf(stderr, "argument %s needs an integer, not %s\n", name.c_str(), argv[i + 1]);
      return false;
    }
  }
  return true;
}

/// `rows` standard-normal rows of `inputs` features and a binary label from a noisy linear rule
/// (float32 0/1), from LibTorch's global generator.
inline std::pair<torch::Tensor, torch::Tensor> random_table(std::int64_t rows,
                                                            std::int64_t inputs) {
  auto x = torch::randn({rows, inputs});
  const auto w = torch::randn({inputs});
  auto y = (x.matmul(w) + torch::randn({rows}) > 0).to(torch::kFloat32);
  return {std::move(x), std::move(y)};
}

}  // namespace panoramia::bench
