#include "context_impl.hpp"

#include "hashing.hpp"
#include "progress.hpp"

namespace panoramia {

HostContext::HostContext(OptionValues options, std::shared_ptr<spdlog::logger> logger,
                         std::uint64_t seed, std::filesystem::path work_dir, c10::Device device,
                         Communicator* communicator, ThreadPolicy threads)
    : SeededContext(std::move(options), std::move(logger), seed, std::move(work_dir)),
      device_(device),
      communicator_(communicator),
      threads_(threads) {}

std::unique_ptr<Progress> HostContext::progress(const std::string& what, std::int64_t total) {
  return std::make_unique<ProgressDisplay>(logger(), what, total);
}

int HostContext::loop_threads(const std::string& loop, double flops_per_step) {
  const int threads = panoramia::loop_threads(threads_, flops_per_step);
  set_threads(threads);
  logger()->info("{}: {}", loop, describe_loop_threads(threads_, flops_per_step));
  return threads;
}

std::uint64_t derive_seed(std::uint64_t seed, const std::string& stage) {
  Hasher h;
  h.add(seed).add(stage);
  return h.value() & 0x7fffffffffffffffULL;
}

}  // namespace panoramia
