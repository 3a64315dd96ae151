#pragma once
/// The five plugin interfaces, and the contract between them and the host.
///
/// **When the host calls what.** One audit (`panoramia audit`) runs these stages in this order. A
/// stage whose result is in the cache is not computed again: its plugin is then only asked to
/// `load` what its `save` wrote (targets, helpers), or not called at all (readers, generators,
/// featurizers, attacks: their outputs are cached as tensors).
/// 1. data: `make_dataset_reader`, then `read` once. The reader is made on a cached run too (its
///    `read` is then not called): it outlives the audit's stages, for step 2's `preview` and
///    `closeness`.
/// 2. generator: `make_generator`; `fit` on the generator's share of the members, or `load` of
///    `[generator] load`; then `save` into an empty directory; then `sample` once. Then, once per
///    audit (also when the stage was cached), the reader's `preview` of a few real samples and of
///    as many generated ones, and its `closeness` of held-out real samples to generated ones.
/// 3. target: `make_target`; `fit` (only if `can_fit()`), or `load` of `[target] load`; then
///    `save` into an empty directory. On a cached run only `load` of that directory. Then
///    `variants`.
/// 4. helper: a second instance of a target adapter, built the same way from synthetic data only;
///    with `[helper] count = K`, K of them, each on its own synthetic samples and seed (helper 1
///    is the baseline's side model, helpers 2..K are the reference models of every attack).
/// 5. signals: `side_signals` of each helper's first variant and of each target variant on each
///    set of the game (several calls, any order of sets, same object).
/// 6. attacks: for each attack of the audit (`[attack]`, then `[attacks] list`), for the baseline
///    and for each MIA, a fresh featurizer and a fresh attack: `featurize` the training set and
///    the test set, then `fit` once, then `score` once.
/// No method is called again after it threw. With several ranks (`panoramia launch`) every rank
/// runs every stage and calls the same methods in the same order.
///
/// **Contexts.** The context passed to `make_*` outlives the object made with it; the context
/// passed to a method is valid during that call only, and may be another stage's (a target made
/// in the target stage computes its side signals with the signals stage's context): take options,
/// seeds and the work directory from the context of the call.
///
/// **Ownership.** Tensors are shared, not copied, across the boundary (`data.hpp`): a plugin must
/// not modify in place a tensor it was given, and must not modify a tensor it returned. A plugin
/// may keep references to input tensors beyond the call. Paths passed to `save`/`load` belong to
/// the host; a plugin writes nothing outside them and its `Context::work_dir()`.
///
/// **Threads.** The host calls one method of one plugin at a time, from one thread. Inside a call
/// a plugin may use threads (LibTorch's intra-op pool, `Context::loop_threads`) and joins them
/// before it returns.
///
/// **Errors.** A method reports failure by throwing a `std::exception` whose `what()` is one
/// sentence naming what went wrong and where (file, line, offset, option); the host turns it into
/// an error naming the plugin and the operation, records the run as failed and exits non-zero. A
/// plugin never terminates the process and never writes to stdout (use the context's logger).
///
/// **Randomness.** Every random draw goes through `Context::generator()` or `Context::rng()`, so
/// the same config and seed give the same numbers.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/config.hpp>

#include "panoramia/context.hpp"
#include "panoramia/data.hpp"
#include "panoramia/preview.hpp"

namespace panoramia {

/// Reads a data set into one batch of samples (`[data]` section).
class BOOST_SYMBOL_VISIBLE DatasetReader {
 public:
  virtual ~DatasetReader() = default;
  /// Reads every sample. Bad input (missing file, truncated data, wrong magic number) is an
  /// exception naming the file and the position.
  virtual Batch read(Context& ctx) = 0;
  /// A few samples of this reader's kind (real ones, or generated ones of the same shape) as the
  /// report shows them: an image, a table or texts (`preview.hpp`). `samples` holds at most
  /// `kPreviewSamples` rows. The default shows nothing (the report then says the reader has no
  /// preview). Called with the data stage's context.
  virtual Preview preview(const Batch& samples, Context& ctx) const {
    (void)samples;
    (void)ctx;
    return {};
  }
  /// How close `synthetic` is to `real` (held-out samples, the same count), on measures of the
  /// reader's choosing (e.g. per-column distances for a table); recorded with the run as the
  /// `generator` metrics `measure:feature`. The default measures nothing.
  virtual std::vector<Closeness> closeness(const Batch& real, const Batch& synthetic,
                                           Context& ctx) const {
    (void)real;
    (void)synthetic;
    (void)ctx;
    return {};
  }
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
  /// Writes every variant of the model (weights, and whatever preprocessing state `side_signals`
  /// needs) into the existing, empty directory `dir`, after `fit` or `load`. Called on every rank,
  /// each with a directory of its own; only rank 0's is kept in the cache.
  virtual void save(const std::filesystem::path& dir, Context& ctx) const = 0;
  /// Restores, instead of `fit`, either a directory written by `save` (a cached run) or the
  /// user's `[target] load` path (the adapter's own checkpoint layout: a file or a directory).
  /// Afterwards `variants` and `side_signals` behave as after the `fit` that made it. A missing,
  /// truncated or foreign checkpoint is an exception naming the file.
  virtual void load(const std::filesystem::path& dir, Context& ctx) = 0;
};

/// Turns samples and a side model's signals into attack features (`[featurizer]` section).
class BOOST_SYMBOL_VISIBLE Featurizer {
 public:
  virtual ~Featurizer() = default;
  /// Returns float32 `[n, d]`, one row per sample, in the order of `samples`.
  virtual at::Tensor featurize(const Batch& samples, const SideSignals& side, Context& ctx) = 0;
};

/// What an attack sees about a set of samples; every field is row-aligned with `samples`.
/// `references` holds the signals of the reference models (helpers 2..K of `[helper] count`,
/// trained on synthetic data only, never on a member) on the same samples, in helper order; it is
/// empty when the audit has one helper. The baseline and every MIA get the same references: only
/// `side` differs.
struct AttackData {
  Batch samples;
  SideSignals side;
  at::Tensor features;
  std::vector<SideSignals> references;
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
