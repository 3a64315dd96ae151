#pragma once
/// \file
/// Data-parallel training for plugins: how a training loop spreads over the ranks of the audit
/// (`Context::communicator()`). Compiled in the SDK's library `Panoramia::data_parallel`, which
/// `panoramia_add_plugin` links.
///
/// Every rank draws the same global batch (same seeds, same shuffles and augmentation), trains on
/// its contiguous shard of it, and the gradients are summed across ranks. Weighting each rank's
/// mean loss by its share of the global batch makes the sum equal the gradient of the global
/// batch's mean loss, so the trained weights equal a one-process run with the same global batch up
/// to floating-point summation order:
///
///     DataParallel dp(ctx.communicator(), *net);   // broadcasts rank 0's parameters and buffers
///     for (each global batch xb, yb) {
///       const auto x = dp.shard(xb), y = dp.shard(yb);
///       DropoutScope masks(&ctx.generator(), global_rows(dp, xb.size(0)));
///       optimizer.zero_grad();
///       const auto loss = loss_fn(net->forward(x), y).mean() * dp.loss_weight(xb.size(0));
///       dp.prepare();
///       loss.backward();
///       dp.synchronize();                          // gradients are now the global batch's
///       optimizer.step();
///     }
///
/// Gradients are packed into buckets (in reverse parameter order, about `bucket_bytes` each); a
/// bucket's all-reduce starts during backward() as soon as its last gradient is computed, so the
/// communication overlaps the rest of the backward pass. BatchNorm layers call `batch_norm()`,
/// which normalises with the statistics of the global batch (synchronised BatchNorm) while a
/// DataParallel is active on the thread. Dropout layers call `scoped_dropout()`: inside a
/// `DropoutScope` naming this rank's rows, the mask is drawn for the whole global batch and the
/// rank keeps its rows, so the masks equal the one-process ones and every rank's generator stays
/// in step.
///
/// Threads: a DataParallel, a DropoutScope and batch_norm act on the thread that made them.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>

#include "panoramia/distributed.hpp"

namespace panoramia {

/// Rank `comm.rank()`'s rows [begin, end) of `n` rows split over the ranks: contiguous shards
/// whose sizes differ by at most one (a shard may be empty when n < world size).
std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, const Communicator& comm);

/// `values` summed over the ranks (e.g. loss totals for a progress line); as given with one rank.
std::vector<double> sum_over_ranks(Communicator& comm, std::vector<double> values);

class DataParallel {
 public:
  /// Registers `module`'s trainable parameters and broadcasts its parameters and buffers from
  /// rank 0. With one rank it does nothing and every call below is (almost) free.
  DataParallel(Communicator& comm, torch::nn::Module& module, std::int64_t bucket_bytes = 8 << 20);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return comm_.rank(); }
  int world_size() const { return comm_.world_size(); }
  Communicator& communicator() const { return comm_; }

  /// This rank's rows [begin, end) of a global batch of `n` rows.
  std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n) const {
    return panoramia::shard_range(n, comm_);
  }
  /// This rank's rows of `t` (dimension 0), as a view.
  at::Tensor shard(const at::Tensor& t) const;
  /// The factor for this rank's mean loss over its shard: shard rows / global rows.
  double loss_weight(std::int64_t global_rows) const;

  /// Arms the gradient hooks for the next backward(). Gradients must be zero or undefined before
  /// it (zero_grad()): synchronize() replaces them by the sum over ranks.
  void prepare();
  /// Waits for every bucket's all-reduce (starting those whose gradients never arrived, with zeros
  /// for the missing ones) and writes the summed gradients into the parameters' .grad. A
  /// parameter that received no gradient on any rank keeps its .grad as it was, as in one process.
  void synchronize();

  /// Sums `values` over the ranks (e.g. a loss total for the progress line).
  std::vector<double> sum(std::vector<double> values) const {
    return sum_over_ranks(comm_, std::move(values));
  }

  /// The DataParallel active on this thread (the innermost one alive), or null.
  static DataParallel* active();

 private:
  struct Buckets;
  Communicator& comm_;
  DataParallel* previous_;
  std::unique_ptr<Buckets> buckets_;
};

/// Where a batch sits in the global batch of a data-parallel step: this rank holds rows
/// [begin, end) of `global` rows. `global < 0`: the batch is the whole batch.
struct BatchRows {
  std::int64_t global = -1;
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

/// This rank's rows of a global batch of `n` rows (one rank: the whole batch).
BatchRows global_rows(const DataParallel& dp, std::int64_t n);

/// Inverted dropout of `x`: `x * mask / (1 - p)` with mask ~ Bernoulli(1 - p) per element, drawn
/// from `generator` (a CPU generator; null: LibTorch's default generator). With `rows` set, the
/// mask is drawn for the whole global batch (dim 0 of `x` must then have end - begin rows) and
/// these rows are kept. Identity when p == 0. Throws std::invalid_argument when p is outside
/// [0, 1) or `x` does not hold `rows`.
at::Tensor global_batch_dropout(const at::Tensor& x, double p, at::Generator* generator,
                                BatchRows rows = {});

/// While alive, `scoped_dropout` on this thread draws its masks from `generator` (null: LibTorch's
/// default generator) for the rows `rows` of the global batch. Scopes nest; the innermost wins.
class DropoutScope {
 public:
  explicit DropoutScope(at::Generator* generator = nullptr, BatchRows rows = {});
  ~DropoutScope();
  DropoutScope(const DropoutScope&) = delete;
  DropoutScope& operator=(const DropoutScope&) = delete;
  /// The rows of the next forward passes (e.g. per step, in a scope that spans the loop).
  void set_rows(BatchRows rows);

 private:
  friend at::Tensor scoped_dropout(const at::Tensor& x, double p, bool training);
  struct State {
    at::Generator* generator = nullptr;
    BatchRows rows;
  };
  static State& current();
  State previous_;
};

/// Dropout for model code: `global_batch_dropout` with the innermost DropoutScope's generator and
/// rows (LibTorch's default generator and the whole batch outside any scope, which is LibTorch's
/// own dropout). Identity when not training or p == 0.
at::Tensor scoped_dropout(const at::Tensor& x, double p, bool training);

namespace detail {
/// The state of a BatchNorm layer that `batch_norm` needs, whatever its dimension.
struct BatchNormState {
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps;
  double momentum;
};
at::Tensor synchronized_batch_norm(DataParallel& dp, const at::Tensor& x, const BatchNormState& bn);
}  // namespace detail

/// `bn->forward(x)`, except while a DataParallel with several ranks is active on this thread and
/// the layer is training: then the batch statistics are those of the global batch (the ranks' row
/// counts, means and variances combined, gradients included) and the running statistics are
/// updated with them, so the result equals BatchNorm over the whole global batch in one process.
template <typename BatchNormHolder>
at::Tensor batch_norm(BatchNormHolder& bn, const at::Tensor& x) {
  DataParallel* dp = DataParallel::active();
  if (dp == nullptr || dp->world_size() <= 1 || !bn->is_training() ||
      !bn->options.track_running_stats())
    return bn->forward(x);
  detail::BatchNormState state{{},
                               {},
                               bn->running_mean,
                               bn->running_var,
                               bn->num_batches_tracked,
                               bn->options.eps(),
                               bn->options.momentum().value_or(0.1)};
  if (bn->options.affine()) {
    state.weight = bn->weight;
    state.bias = bn->bias;
  }
  return detail::synchronized_batch_norm(*dp, x, state);
}

}  // namespace panoramia
