#pragma once
// The host's implementation of the plugin Context.

#include <filesystem>
#include <memory>
#include <random>

#include <ATen/core/Generator.h>
#include <panoramia/seeded_context.hpp>

#include "threads.hpp"

namespace panoramia {

class HostContext final : public SeededContext {
 public:
  HostContext(OptionValues options, std::shared_ptr<spdlog::logger> logger, std::uint64_t seed,
              std::filesystem::path work_dir, c10::Device device,
              Communicator* communicator = nullptr, ThreadPolicy threads = {});

  c10::Device device() const override { return device_; }
  std::unique_ptr<Progress> progress(const std::string& what, std::int64_t total) override;
  int loop_threads(const std::string& loop, double flops_per_step) override;
  Communicator& communicator() override {
    return communicator_ != nullptr ? *communicator_ : Context::communicator();
  }

 private:
  c10::Device device_;
  Communicator* communicator_;
  ThreadPolicy threads_;
};

/// A seed for `stage`, derived from the audit seed so that stages draw independent streams.
std::uint64_t derive_seed(std::uint64_t seed, const std::string& stage);

}  // namespace panoramia
