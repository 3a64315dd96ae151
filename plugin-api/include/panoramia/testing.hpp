#pragma once
/// \file
/// A `Context` for unit tests of a plugin, outside the host: the bundled plugins' tests use it and
/// it is installed with the SDK for third parties' tests (`tests/sdk-example` has an example).
///
///     panoramia::testing::TestContext ctx(factory.options(panoramia::kAttack),
///                                         {{"epochs", "2"}}, /*seed=*/3);
///     auto attack = factory.make_attack(ctx);
///
/// What it gives, against what the host gives:
/// - options: every declared option at its default, then the overrides. An override of an option
///   that was not declared, or with a value the host would refuse (type, choices, range), throws
///   `std::invalid_argument` here too, so a test cannot hand a plugin what an audit never would;
/// - a logger that discards everything (name "test");
/// - `seed()`, `generator()` and `rng()` seeded with `seed`: two contexts with the same seed give
///   the same draws;
/// - a fresh work directory of its own under the temporary directory, removed by the destructor;
/// - progress displays that do nothing; the CPU device; one rank; `loop_threads` keeps the
///   current thread count (the SDK default).
///
/// Not thread-safe, like the host's context.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "panoramia/seeded_context.hpp"

namespace panoramia::testing {

/// A progress display that shows nothing.
class SilentProgress final : public Progress {
 public:
  void advance(std::int64_t, const std::string&) override {}
  void finish() override {}
};

class TestContext final : public SeededContext {
 public:
  explicit TestContext(const std::vector<OptionSpec>& specs = {},
                       const std::map<std::string, std::string>& overrides = {},
                       std::uint64_t seed = 1)
      : SeededContext(checked_options(specs, overrides),
                      std::make_shared<spdlog::logger>(
                          "test", std::make_shared<spdlog::sinks::null_sink_mt>()),
                      seed, fresh_directory()) {}
  ~TestContext() override {
    std::error_code ignored;
    std::filesystem::remove_all(work_dir(), ignored);
  }
  TestContext(const TestContext&) = delete;
  TestContext& operator=(const TestContext&) = delete;

  c10::Device device() const override { return c10::Device(c10::kCPU); }
  std::unique_ptr<Progress> progress(const std::string&, std::int64_t) override {
    return std::make_unique<SilentProgress>();
  }

 private:
  static OptionValues checked_options(const std::vector<OptionSpec>& specs,
                                      const std::map<std::string, std::string>& overrides) {
    std::map<std::string, std::string> values;
    for (const auto& spec : specs) values[spec.name] = spec.default_value;
    for (const auto& entry : overrides) {
      const std::string& key = entry.first;
      const std::string& value = entry.second;
      const auto spec = std::find_if(specs.begin(), specs.end(),
                                     [&key](const OptionSpec& s) { return s.name == key; });
      if (spec == specs.end())
        throw std::invalid_argument("the test sets option '" + key + "', which is not declared");
      if (!option_value_valid(*spec, value))
        throw std::invalid_argument("the test sets option '" + key + "' = '" + value +
                                    "', which the host would refuse");
      values[key] = value;
    }
    return OptionValues(specs, values);
  }
  static std::filesystem::path fresh_directory() {
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::temp_directory_path() /
               ("panoramia-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
  }
};

/// The message of the exception `f` throws, or "no error" when it throws none: for tests of the
/// one-sentence error contract (`EXPECT_THAT(message_of(...), HasSubstr("file.bin"))`).
template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace panoramia::testing
