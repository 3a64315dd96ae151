#pragma once
// The stage cache: each stage's output lives in <workdir>/cache/<stage>-<key>/, where the key
// hashes everything that determines the output. A stage is complete once its `complete` marker
// exists (it is written last), so an audit killed mid-stage resumes at the first unfinished stage.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <spdlog/logger.h>

#include <panoramia/distributed.hpp>

#include "results_db.hpp"

namespace panoramia {

class StageCache {
 public:
  StageCache(std::filesystem::path root, bool fresh, std::shared_ptr<spdlog::logger> logger,
             ResultsDb* db, std::int64_t run);
  /// A data-parallel audit: rank 0 owns `root` and decides for every rank whether a stage is
  /// reused (the others then load rank 0's entry, so the work directory must be shared); ranks
  /// other than 0 compute into `scratch` and never write the cache.
  void set_ranks(Communicator* communicator, std::filesystem::path scratch);

  /// Runs stage `stage` with cache key `key`: if a complete entry exists (and not --fresh), calls
  /// `load(dir)`; otherwise clears the directory, calls `compute(dir)` and marks it complete.
  /// Records the stage (key, reuse, time) in the database. Returns true when the cache was reused.
  bool run(const std::string& stage, const std::string& key,
           const std::function<void(const std::filesystem::path&)>& compute,
           const std::function<void(const std::filesystem::path&)>& load);

  /// Where this rank computes stage `stage` (rank 0: the cache entry itself).
  std::filesystem::path dir(const std::string& stage, const std::string& key) const;

 private:
  std::filesystem::path root_;
  bool fresh_;
  std::shared_ptr<spdlog::logger> logger_;
  ResultsDb* db_;
  std::int64_t run_;
  Communicator* communicator_ = nullptr;
  std::filesystem::path scratch_;
};

}  // namespace panoramia
