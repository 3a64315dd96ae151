#pragma once
/// \file
/// A `Context` that keeps its options, logger, seed, generators and work directory as members,
/// the part every context shares: the host's context and the test context (`testing.hpp`) derive
/// from it and add the device, progress displays, thread choice and ranks.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>

#include "panoramia/context.hpp"

namespace panoramia {

class BOOST_SYMBOL_VISIBLE SeededContext : public Context {
 public:
  /// `generator()` and `rng()` are seeded with `seed`; `work_dir` is created when missing.
  SeededContext(OptionValues options, std::shared_ptr<spdlog::logger> logger, std::uint64_t seed,
                std::filesystem::path work_dir)
      : options_(std::move(options)),
        logger_(std::move(logger)),
        seed_(seed),
        generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        rng_(seed),
        work_dir_(std::move(work_dir)) {
    std::filesystem::create_directories(work_dir_);
  }

  const OptionValues& options() const override { return options_; }
  std::shared_ptr<spdlog::logger> logger() const override { return logger_; }
  std::uint64_t seed() const override { return seed_; }
  at::Generator& generator() override { return generator_; }
  std::mt19937_64& rng() override { return rng_; }
  const std::filesystem::path& work_dir() const override { return work_dir_; }

 private:
  OptionValues options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::uint64_t seed_;
  at::Generator generator_;
  std::mt19937_64 rng_;
  std::filesystem::path work_dir_;
};

}  // namespace panoramia
