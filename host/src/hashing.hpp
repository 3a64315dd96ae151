#pragma once
// Cache keys: a 64-bit FNV-1a hash over typed fields, printed as 16 hex digits.

#include <cstdint>
#include <cstdio>
#include <string>

namespace panoramia {

class Hasher {
 public:
  Hasher& add_bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      state_ ^= p[i];
      state_ *= kPrime;
    }
    return *this;
  }
  // Length-prefixed, so that ("ab","c") and ("a","bc") differ.
  Hasher& add(const std::string& s) {
    add(static_cast<std::uint64_t>(s.size()));
    return add_bytes(s.data(), s.size());
  }
  Hasher& add(const char* s) { return add(std::string(s)); }
  Hasher& add(std::uint64_t v) { return add_bytes(&v, sizeof v); }
  std::uint64_t value() const { return state_; }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(state_));
    return buf;
  }

 private:
  static constexpr std::uint64_t kPrime = 1099511628211ULL;
  std::uint64_t state_ = 14695981039346656037ULL;
};

}  // namespace panoramia
