#include "stage_cache.hpp"

#include <fstream>

#include <ATen/Functions.h>

#include "progress.hpp"

namespace panoramia {
namespace {
constexpr const char* kMarker = "complete";
}

StageCache::StageCache(std::filesystem::path root, bool fresh,
                       std::shared_ptr<spdlog::logger> logger, ResultsDb* db, std::int64_t run)
    : root_(std::move(root)), fresh_(fresh), logger_(std::move(logger)), db_(db), run_(run) {}

void StageCache::set_ranks(Communicator* communicator, std::filesystem::path scratch) {
  communicator_ = communicator;
  scratch_ = std::move(scratch);
}

std::filesystem::path StageCache::dir(const std::string& stage, const std::string& key) const {
  const bool own = communicator_ == nullptr || communicator_->rank() == 0;
  return (own ? root_ : scratch_) / (stage + "-" + key);
}

bool StageCache::run(const std::string& stage, const std::string& key,
                     const std::function<void(const std::filesystem::path&)>& compute,
                     const std::function<void(const std::filesystem::path&)>& load) {
  const auto started = utc_now();
  const auto t0 = std::chrono::steady_clock::now();
  const auto shared = root_ / (stage + "-" + key);
  const bool rank0 = communicator_ == nullptr || communicator_->rank() == 0;
  bool reuse = !fresh_ && rank0 && std::filesystem::exists(shared / kMarker);
  if (communicator_ != nullptr && communicator_->world_size() > 1) {
    std::vector<at::Tensor> decision{at::full({1}, reuse ? 1 : 0, at::kInt)};
    communicator_->broadcast(decision, 0);
    reuse = decision[0].item<int>() != 0;
  }
  const auto d = reuse ? shared : dir(stage, key);
  if (reuse) {
    if (!std::filesystem::exists(shared / kMarker))
      throw std::runtime_error("rank " + std::to_string(communicator_->rank()) +
                               " cannot see the cache entry " + shared.string() +
                               " that rank 0 reuses: give every rank the same shared --workdir, "
                               "or run with --fresh");
    logger_->info("stage {}: reusing cached result {}", stage, d.string());
    load(d);
  } else {
    logger_->info("stage {}: computing (cache key {})", stage, key);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    compute(d);
    if (rank0) {
      std::ofstream marker(d / kMarker);
      marker << started << "\n";
      if (!marker) throw std::runtime_error("cannot write " + (d / kMarker).string());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!reuse) logger_->info("stage {}: done in {}", stage, format_duration(seconds));
  if (db_ != nullptr) db_->record_stage(run_, StageRecord{stage, key, reuse, started, seconds});
  return reuse;
}

}  // namespace panoramia
