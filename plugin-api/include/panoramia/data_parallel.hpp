#pragma once
/// Data-parallel training for plugins: the one facility every trainable plugin uses to spread a
/// training loop over the ranks of the audit (Context::communicator()).
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
/// communication overlaps the rest of the backward pass. BatchNorm layers should call
/// `batch_norm()` below, which normalises with the statistics of the global batch (synchronised
/// BatchNorm) while a DataParallel is active on the thread. Dropout masks are drawn per rank, so
/// with dropout the runs are equal in distribution only.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <torch/autograd.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>

#include "panoramia/distributed.hpp"

namespace panoramia {

class DataParallel {
 public:
  /// Registers `module`'s trainable parameters and broadcasts its parameters and buffers from
  /// rank 0. With one rank it does nothing and every call below is (almost) free.
  DataParallel(Communicator& comm, torch::nn::Module& module, std::int64_t bucket_bytes = 8 << 20)
      : comm_(comm), previous_(current()) {
    current() = this;
    if (comm_.world_size() <= 1) return;
    {
      torch::NoGradGuard guard;
      std::vector<at::Tensor> state;
      for (auto& p : module.parameters()) state.push_back(p.data());
      for (auto& b : module.buffers()) state.push_back(b.data());
      comm_.broadcast(state, 0);
    }
    auto params = module.parameters();
    std::reverse(params.begin(), params.end());
    for (auto& p : params) {
      if (!p.requires_grad()) continue;
      const std::int64_t bytes = p.numel() * static_cast<std::int64_t>(p.element_size());
      if (buckets_.empty() || buckets_.back().bytes + bytes > bucket_bytes ||
          buckets_.back().dtype != p.scalar_type() || buckets_.back().device != p.device())
        buckets_.push_back(Bucket{{}, {}, 0, 0, p.scalar_type(), p.device(), {}, 0});
      auto& bucket = buckets_.back();
      slots_.push_back(Slot{p, buckets_.size() - 1, bucket.numel, false});
      bucket.slots.push_back(slots_.size() - 1);
      bucket.numel += p.numel();
      bucket.bytes += bytes;
    }
    for (auto& bucket : buckets_)
      bucket.flat =
          torch::zeros({bucket.numel}, at::TensorOptions(bucket.dtype).device(bucket.device));
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& p = slots_[i].param;
      hooks_.push_back(
          p.register_hook([this, i](const at::Tensor& grad) { on_gradient(i, grad); }));
    }
  }

  ~DataParallel() {
    current() = previous_;
    for (std::size_t i = 0; i < hooks_.size(); ++i) slots_[i].param.remove_hook(hooks_[i]);
  }

  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return comm_.rank(); }
  int world_size() const { return comm_.world_size(); }
  Communicator& communicator() const { return comm_; }

  /// This rank's rows [begin, end) of a global batch of `n` rows: contiguous shards whose sizes
  /// differ by at most one (a shard may be empty when n < world size).
  std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n) const {
    const std::int64_t w = comm_.world_size(), r = comm_.rank();
    const std::int64_t base = n / w, extra = n % w;
    const std::int64_t begin = r * base + std::min(r, extra);
    return {begin, begin + base + (r < extra ? 1 : 0)};
  }
  /// This rank's rows of `t` (dimension 0), as a view.
  at::Tensor shard(const at::Tensor& t) const {
    const auto [begin, end] = shard_range(t.size(0));
    return t.slice(0, begin, end);
  }
  /// The factor for this rank's mean loss over its shard: shard rows / global rows.
  double loss_weight(std::int64_t global_rows) const {
    const auto [begin, end] = shard_range(global_rows);
    return global_rows == 0 ? 0.0
                            : static_cast<double>(end - begin) / static_cast<double>(global_rows);
  }

  /// Arms the gradient hooks for the next backward(). Gradients must be zero or undefined before
  /// it (zero_grad()): synchronize() replaces them by the sum over ranks.
  void prepare() {
    if (comm_.world_size() <= 1) return;
    armed_ = true;
    next_launch_ = 0;
    for (auto& s : slots_) s.ready = false;
    for (auto& b : buckets_) {
      b.waiting = b.slots.size();
      b.pending.reset();
    }
  }

  /// Waits for every bucket's all-reduce (starting those whose gradients never arrived, with zeros
  /// for the missing ones) and writes the summed gradients into the parameters' .grad. A
  /// parameter that received no gradient on any rank keeps its .grad as it was, as in one process.
  void synchronize() {
    if (comm_.world_size() <= 1) return;
    if (!armed_) throw std::logic_error("DataParallel::synchronize() without prepare()");
    armed_ = false;
    torch::NoGradGuard guard;
    auto used = torch::zeros({static_cast<std::int64_t>(slots_.size())}, torch::kInt32);
    auto* flags = used.data_ptr<std::int32_t>();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (s.ready) {
        flags[i] = 1;
        continue;
      }
      bucket_view(s).zero_();
      s.ready = true;
      --buckets_[s.bucket].waiting;
    }
    launch_ready();
    // After every bucket, in the same order on every rank: which parameters some rank used.
    std::vector<at::Tensor> used_any{used};
    comm_.all_reduce_sum(used_any);
    for (auto& b : buckets_) b.pending->wait();
    const auto* any = used_any[0].contiguous().data_ptr<std::int32_t>();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (any[i] == 0) continue;
      const auto reduced = bucket_view(s).view_as(s.param);
      auto& grad = s.param.mutable_grad();
      if (grad.defined())
        grad.copy_(reduced);
      else
        grad = reduced.clone();
    }
  }

  /// Sums `values` over the ranks (e.g. a loss total for the progress line).
  std::vector<double> sum(std::vector<double> values) const {
    if (comm_.world_size() <= 1 || values.empty()) return values;
    std::vector<at::Tensor> t{torch::tensor(values, torch::kFloat64)};
    comm_.all_reduce_sum(t);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = t[0][i].item<double>();
    return values;
  }

  /// The DataParallel active on this thread (the innermost one alive), or null.
  static DataParallel* active() { return current(); }

 private:
  struct Slot {
    at::Tensor param;
    std::size_t bucket;
    std::int64_t offset;
    bool ready;
  };
  struct Bucket {
    std::vector<std::size_t> slots;
    at::Tensor flat;
    std::int64_t numel;
    std::int64_t bytes;
    c10::ScalarType dtype;
    c10::Device device;
    std::unique_ptr<Communicator::Pending> pending;
    std::size_t waiting;
  };

  static DataParallel*& current() {
    static thread_local DataParallel* instance = nullptr;
    return instance;
  }

  at::Tensor bucket_view(const Slot& s) {
    return buckets_[s.bucket].flat.slice(0, s.offset, s.offset + s.param.numel());
  }

  void on_gradient(std::size_t i, const at::Tensor& grad) {
    if (!armed_) return;
    auto& s = slots_[i];
    torch::NoGradGuard guard;
    if (s.ready) {  // a second gradient for the same parameter in one backward(): accumulate
      bucket_view(s).add_(grad.reshape({-1}));
      return;
    }
    bucket_view(s).copy_(grad.reshape({-1}));
    s.ready = true;
    if (--buckets_[s.bucket].waiting == 0) launch_ready();
  }

  // Starts the all-reduces of complete buckets in bucket order (the same order on every rank).
  void launch_ready() {
    while (next_launch_ < buckets_.size() && buckets_[next_launch_].waiting == 0) {
      auto& b = buckets_[next_launch_++];
      b.pending = comm_.all_reduce_sum_async({b.flat});
    }
  }

  Communicator& comm_;
  DataParallel* previous_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  std::size_t next_launch_ = 0;
  bool armed_ = false;
};

namespace detail {

// Sum over ranks as an autograd function: the gradient of a sum that every rank receives is the
// sum of the ranks' gradients.
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            std::int64_t comm) {
    ctx->saved_data["comm"] = comm;
    std::vector<at::Tensor> t{x.clone()};
    reinterpret_cast<Communicator*>(comm)->all_reduce_sum(t);
    return t[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    std::vector<at::Tensor> t{grads[0].contiguous().clone()};
    comm->all_reduce_sum(t);
    return {t[0], at::Tensor()};
  }
};

}  // namespace detail

/// `bn->forward(x)`, except while a DataParallel with several ranks is active on this thread and
/// the layer is training: then the batch statistics are those of the global batch (summed over
/// the ranks, gradients included) and the running statistics are updated with them, so the result
/// equals BatchNorm over the whole global batch in one process.
template <typename BatchNormHolder>
at::Tensor batch_norm(BatchNormHolder& bn, const at::Tensor& x) {
  DataParallel* dp = DataParallel::active();
  if (dp == nullptr || dp->world_size() <= 1 || !bn->is_training() ||
      !bn->options.track_running_stats())
    return bn->forward(x);
  const std::int64_t c = x.size(1);
  std::vector<std::int64_t> reduce_dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) reduce_dims.push_back(d);
  const double count = static_cast<double>(x.numel() / std::max<std::int64_t>(c, 1));
  const auto xf = x.to(torch::kFloat64);
  auto stats = torch::cat(
      {xf.sum(reduce_dims), (xf * xf).sum(reduce_dims), torch::full({1}, count, xf.options())});
  stats = detail::AllReduceSum::apply(stats, reinterpret_cast<std::int64_t>(&dp->communicator()));
  const auto n = stats[2 * c];
  const auto mean = stats.slice(0, 0, c) / n;
  const auto var = (stats.slice(0, c, 2 * c) / n - mean * mean).clamp_min(0);
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[1] = c;
  auto y = ((xf - mean.view(shape)) * torch::rsqrt(var + bn->options.eps()).view(shape))
               .to(x.scalar_type());
  if (bn->options.affine()) y = y * bn->weight.view(shape) + bn->bias.view(shape);
  {
    torch::NoGradGuard guard;
    const double total = n.template item<double>();
    const double momentum = bn->options.momentum().value_or(0.1);
    bn->running_mean.mul_(1 - momentum).add_(mean.to(bn->running_mean.scalar_type()), momentum);
    bn->running_var.mul_(1 - momentum)
        .add_((var * (total / std::max(1.0, total - 1))).to(bn->running_var.scalar_type()),
              momentum);
    bn->num_batches_tracked.add_(1);
  }
  return y;
}

}  // namespace panoramia
