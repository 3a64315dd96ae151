#pragma once
/// The five plugin interfaces. Error contract for every method: throw a `std::exception` whose
/// `what()` is one sentence naming what went wrong and where (file, line, offset, option); the host
/// turns it into an error naming the plugin and the operation, records the run as failed and exits
/// non-zero. Methods are called from one thread at a time.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/config.hpp>

#include "panoramia/context.hpp"
#include "panoramia/data.hpp"

namespace panoramia {

/// Reads a data set into one batch of samples (`[data]` section).
class BOOST_SYMBOL_VISIBLE DatasetReader {
 public:
  virtual ~DatasetReader() = default;
  /// Reads every sample. Bad input (missing file, truncated data, wrong magic number) is an
  /// exception naming the file and the position.
  virtual Batch read(Context& ctx) = 0;
};

/// A generative model of the data (`[generator]` section): trained on real members, it produces the
/// synthetic non-members.
class BOOST_SYMBOL_VISIBLE Generator {
 public:
  virtual ~Generator() = default;
  /// Trains on `train` (the generator's share of the target's training data).
  virtual void fit(const Batch& train, Context& ctx) = 0;
  /// Draws `n` new samples, labelled with their conditioning class where the modality has labels.
  /// Uses only `ctx.generator()`/`ctx.rng()` for randomness.
  virtual Batch sample(std::int64_t n, Context& ctx) = 0;
  /// Writes everything `load` needs into the existing directory `dir`.
  virtual void save(const std::filesystem::path& dir, Context& ctx) const = 0;
  /// Restores a model written by `save` (or a plugin-specific checkpoint layout).
  virtual void load(const std::filesystem::path& dir, Context& ctx) = 0;
};

/// A model under audit, or the helper model (a second instance of the same adapter trained on
/// synthetic data only) (`[target]` and `[helper]` sections).
class BOOST_SYMBOL_VISIBLE TargetAdapter {
 public:
  virtual ~TargetAdapter() = default;
  /// Whether `fit` is supported (a loaded, frozen model may not be).
  virtual bool can_fit() const = 0;
  /// Trains on `train`; `validation` is held-out data for model selection (may be empty).
  virtual void fit(const Batch& train, const Batch& validation, Context& ctx) = 0;
  /// Names of the model states that can be audited (e.g. {"best", "final"}); the first is the
  /// default. Never empty.
  virtual std::vector<std::string> variants() const { return {"final"}; }
  /// Side signals of model state `variant` on `samples`; `loss` is always set. The model is used in
  /// inference mode (no gradients, eval mode); the adapter applies its own preprocessing.
  virtual SideSignals side_signals(const Batch& samples, const std::string& variant,
                                   Context& ctx) = 0;
  virtual void save(const std::filesystem::path& dir, Context& ctx) const = 0;
  virtual void load(const std::filesystem::path& dir, Context& ctx) = 0;
};

/// Turns samples and a side model's signals into attack features (`[featurizer]` section).
class BOOST_SYMBOL_VISIBLE Featurizer {
 public:
  virtual ~Featurizer() = default;
  /// Returns float32 `[n, d]`, one row per sample, in the order of `samples`.
  virtual at::Tensor featurize(const Batch& samples, const SideSignals& side, Context& ctx) = 0;
};

/// What an attack sees about a set of samples; all three fields are row-aligned.
struct AttackData {
  Batch samples;
  SideSignals side;
  at::Tensor features;
};

/// A classifier telling real members from generated samples (`[attack]` section). The baseline and
/// every MIA use separate instances of the same attack with the same options; they differ only in
/// the side model whose signals they get.
class BOOST_SYMBOL_VISIBLE Attack {
 public:
  virtual ~Attack() = default;
  /// Trains on `train`; `is_member` is float32 `[n]`, 1 for a real member and 0 for a generated
  /// sample. Any held-out validation split is the attack's own business.
  virtual void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) = 0;
  /// Returns float32 `[n]`: the probability that each sample is a member, in [0, 1].
  virtual at::Tensor score(const AttackData& data, Context& ctx) = 0;
};

}  // namespace panoramia
