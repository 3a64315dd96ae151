#include "stage_cache.hpp"

#include <fstream>

#include "progress.hpp"

namespace panoramia {
namespace {
constexpr const char* kMarker = "complete";
}

StageCache::StageCache(std::filesystem::path root, bool fresh,
                       std::shared_ptr<spdlog::logger> logger, ResultsDb* db, std::int64_t run)
    : root_(std::move(root)), fresh_(fresh), logger_(std::move(logger)), db_(db), run_(run) {}

std::filesystem::path StageCache::dir(const std::string& stage, const std::string& key) const {
  return root_ / (stage + "-" + key);
}

bool StageCache::run(const std::string& stage, const std::string& key,
                     const std::function<void(const std::filesystem::path&)>& compute,
                     const std::function<void(const std::filesystem::path&)>& load) {
  const auto started = utc_now();
  const auto t0 = std::chrono::steady_clock::now();
  const auto d = dir(stage, key);
  const bool reuse = !fresh_ && std::filesystem::exists(d / kMarker);
  if (reuse) {
    logger_->info("stage {}: reusing cached result {}", stage, d.string());
    load(d);
  } else {
    logger_->info("stage {}: computing (cache key {})", stage, key);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    compute(d);
    std::ofstream marker(d / kMarker);
    marker << started << "\n";
    if (!marker) throw std::runtime_error("cannot write " + (d / kMarker).string());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!reuse) logger_->info("stage {}: done in {}", stage, format_duration(seconds));
  if (db_ != nullptr) db_->record_stage(run_, StageRecord{stage, key, reuse, started, seconds});
  return reuse;
}

}  // namespace panoramia
