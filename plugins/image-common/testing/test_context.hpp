#pragma once
// A Context for unit tests of the image plugins: options built from a plugin's specs plus
// overrides, a seeded generator, a temporary work directory and a silent progress display.

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <panoramia/context.hpp>

namespace panoramia::testing {

class SilentProgress final : public Progress {
 public:
  void advance(std::int64_t, const std::string&) override {}
  void finish() override {}
};

class TestContext final : public Context {
 public:
  TestContext(const std::vector<OptionSpec>& specs, const std::map<std::string, std::string>& set,
              std::uint64_t seed = 7)
      : seed_(seed),
        generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        rng_(seed),
        logger_(std::make_shared<spdlog::logger>("test",
                                                 std::make_shared<spdlog::sinks::null_sink_mt>())) {
    std::map<std::string, std::string> values;
    for (const auto& spec : specs) values[spec.name] = spec.default_value;
    for (const auto& [key, value] : set) {
      if (!values.count(key)) throw std::invalid_argument("test sets undeclared option " + key);
      values[key] = value;
    }
    options_ = OptionValues(specs, values);
    static int counter = 0;
    work_dir_ =
        std::filesystem::temp_directory_path() /
        ("panoramia-img-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(work_dir_);
  }
  ~TestContext() override {
    std::error_code ignored;
    std::filesystem::remove_all(work_dir_, ignored);
  }

  const OptionValues& options() const override { return options_; }
  std::shared_ptr<spdlog::logger> logger() const override { return logger_; }
  std::uint64_t seed() const override { return seed_; }
  at::Generator& generator() override { return generator_; }
  std::mt19937_64& rng() override { return rng_; }
  const std::filesystem::path& work_dir() const override { return work_dir_; }
  c10::Device device() const override { return c10::Device(c10::kCPU); }
  std::unique_ptr<Progress> progress(const std::string&, std::int64_t) override {
    return std::make_unique<SilentProgress>();
  }

 private:
  std::uint64_t seed_;
  at::Generator generator_;
  std::mt19937_64 rng_;
  std::shared_ptr<spdlog::logger> logger_;
  OptionValues options_;
  std::filesystem::path work_dir_;
};

}  // namespace panoramia::testing
