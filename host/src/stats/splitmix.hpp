#pragma once
// splitmix64 (Steele, Lea and Flood 2014): fully specified, unlike std::uniform_*_distribution, so
// its draws are the same on every machine and standard library; one multiply-xorshift per draw.
// The permutation null (checks.cpp) and the reference fixtures' data use it.

#include <cstdint>

namespace panoramia::stats {

class SplitMix64 final {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1): the top 53 bits over 2^53.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

}  // namespace panoramia::stats
