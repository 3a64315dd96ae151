#pragma once
// A plugin Context for the GPT-2 and text-attack unit tests: declared options with overrides, a
// silent logger, seeded generators, a temporary work directory and a progress that does nothing.

#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <panoramia/context.hpp>

namespace panoramia::gpt2::testing {

class TestContext final : public Context {
 public:
  explicit TestContext(const std::vector<OptionSpec>& specs = {},
                       const std::map<std::string, std::string>& overrides = {},
                       std::uint64_t seed = 1)
      : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)), rng_(seed), seed_(seed) {
    std::map<std::string, std::string> values;
    for (const auto& s : specs) values[s.name] = s.default_value;
    for (const auto& [k, v] : overrides) {
      if (!values.count(k)) throw std::invalid_argument("the test sets undeclared option " + k);
      values[k] = v;
    }
    options_ = OptionValues(specs, values);
    logger_ =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    static int counter = 0;
    work_dir_ =
        std::filesystem::temp_directory_path() /
        ("panoramia-gpt2-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(work_dir_);
  }
  ~TestContext() override { std::filesystem::remove_all(work_dir_); }

  const OptionValues& options() const override { return options_; }
  std::shared_ptr<spdlog::logger> logger() const override { return logger_; }
  std::uint64_t seed() const override { return seed_; }
  at::Generator& generator() override { return generator_; }
  std::mt19937_64& rng() override { return rng_; }
  const std::filesystem::path& work_dir() const override { return work_dir_; }
  c10::Device device() const override { return c10::Device(c10::kCPU); }
  std::unique_ptr<Progress> progress(const std::string&, std::int64_t) override {
    return std::make_unique<NoProgress>();
  }

 private:
  struct NoProgress final : Progress {
    void advance(std::int64_t, const std::string&) override {}
    void finish() override {}
  };
  OptionValues options_;
  std::shared_ptr<spdlog::logger> logger_;
  at::Generator generator_;
  std::mt19937_64 rng_;
  std::uint64_t seed_;
  std::filesystem::path work_dir_;
};

/// The message of the exception `f` throws ("no error" when it throws none).
template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace panoramia::gpt2::testing
