#pragma once
// The host's implementation of the plugin Context.

#include <filesystem>
#include <memory>
#include <random>

#include <ATen/core/Generator.h>
#include <panoramia/context.hpp>

#include "threads.hpp"

namespace panoramia {

class HostContext final : public Context {
 public:
  HostContext(OptionValues options, std::shared_ptr<spdlog::logger> logger, std::uint64_t seed,
              std::filesystem::path work_dir, c10::Device device,
              Communicator* communicator = nullptr, ThreadPolicy threads = {});

  const OptionValues& options() const override { return options_; }
  std::shared_ptr<spdlog::logger> logger() const override { return logger_; }
  std::uint64_t seed() const override { return seed_; }
  at::Generator& generator() override { return generator_; }
  std::mt19937_64& rng() override { return rng_; }
  const std::filesystem::path& work_dir() const override { return work_dir_; }
  c10::Device device() const override { return device_; }
  std::unique_ptr<Progress> progress(const std::string& what, std::int64_t total) override;
  int loop_threads(const std::string& loop, double flops_per_step) override;
  Communicator& communicator() override {
    return communicator_ != nullptr ? *communicator_ : Context::communicator();
  }

 private:
  OptionValues options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::uint64_t seed_;
  at::Generator generator_;
  std::mt19937_64 rng_;
  std::filesystem::path work_dir_;
  c10::Device device_;
  Communicator* communicator_;
  ThreadPolicy threads_;
};

/// A seed for `stage`, derived from the audit seed so that stages draw independent streams.
std::uint64_t derive_seed(std::uint64_t seed, const std::string& stage);

}  // namespace panoramia
