#pragma once
/// What the host hands a plugin: typed options, a logger, a seeded random source, a cache
/// directory, the device, and progress reporting. Plugins compute; the host does the I/O around
/// them.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <c10/core/Device.h>
#include <spdlog/logger.h>
#include <boost/config.hpp>

#include "panoramia/distributed.hpp"
#include "panoramia/options.hpp"

namespace panoramia {

/// A progress display for one loop. The host draws a bar on a terminal and periodic lines
/// otherwise. Not thread-safe: call from the thread that runs the loop.
class BOOST_SYMBOL_VISIBLE Progress {
 public:
  virtual ~Progress() = default;
  /// Advances by `n` units; `status` (e.g. "loss 0.41") replaces the previous one when not empty.
  virtual void advance(std::int64_t n = 1, const std::string& status = "") = 0;
  /// Marks the loop finished (also done by the destructor).
  virtual void finish() = 0;
};

/// Everything a plugin instance may use. The host owns the context and keeps it alive for the whole
/// lifetime of the plugin object it was handed to. Not shared between threads.
class BOOST_SYMBOL_VISIBLE Context {
 public:
  virtual ~Context() = default;

  /// This instance's validated options (every declared option has a value).
  virtual const OptionValues& options() const = 0;
  /// Logger named after the plugin and the stage; never null.
  virtual std::shared_ptr<spdlog::logger> logger() const = 0;
  /// The seed of this stage (derived by the host from `[audit] seed` and the stage name).
  virtual std::uint64_t seed() const = 0;
  /// A generator seeded from `seed()`; every random draw of the plugin should go through it (or
  /// through `rng()`), so the same config and seed give the same numbers. The host also seeds
  /// LibTorch's global generator from the stage seed before each stage, so default module
  /// initialisation is reproducible too.
  virtual at::Generator& generator() = 0;
  virtual std::mt19937_64& rng() = 0;
  /// A directory private to this plugin instance for scratch files and inspection output; it
  /// exists.
  virtual const std::filesystem::path& work_dir() const = 0;
  /// The device to compute on (`[audit] device`).
  virtual c10::Device device() const = 0;
  /// Starts a progress display for a loop of `total` units (0 when unknown).
  virtual std::unique_ptr<Progress> progress(const std::string& what, std::int64_t total) = 0;
  /// Chooses, sets and returns the intra-op threads (LibTorch's and OpenBLAS's) for a training or
  /// scoring loop whose steps each cost about `flops_per_step` floating-point operations (for a
  /// dense network, 6 x parameters x batch: the forward pass and the backward pass for inputs and
  /// for weights; 2 x parameters x batch for a forward-only loop). Call it once before the loop,
  /// from the loop's thread. With `[audit] threads = 0` the host gives the loop every core only
  /// when its steps are large enough to gain from them (the measured rule: README, "Threads"),
  /// and one thread otherwise, where waking and joining threads at every operation costs more than
  /// it saves; a `[audit] threads` set by the config is kept as it is. The host logs the choice
  /// under `loop`. The count holds until the next call or the next stage; a loop that never calls
  /// runs on the stage's threads (every core, or `[audit] threads`). This default, for contexts
  /// other than the host's, keeps the current count.
  virtual int loop_threads(const std::string& loop, double flops_per_step) {
    (void)loop;
    (void)flops_per_step;
    return at::get_num_threads();
  }
  /// The ranks of this audit (one unless it was started with --world-size or `panoramia launch`).
  /// Only rank 0 should write anything meant to outlive the run; the host already writes the
  /// cache, checkpoints passed to save() and the results database from rank 0 only.
  virtual Communicator& communicator() { return SingleProcessCommunicator::instance(); }
};

}  // namespace panoramia
