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

/// Rank `comm.rank()`'s rows [begin, end) of `n` rows split over the ranks: contiguous shards
/// whose sizes differ by at most one (a shard may be empty when n < world size).
inline std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, const Communicator& comm) {
  const std::int64_t w = comm.world_size(), r = comm.rank();
  const std::int64_t base = n / w, extra = n % w;
  const std::int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

/// `values` summed over the ranks (e.g. loss totals for a progress line); as given with one rank.
inline std::vector<double> sum_over_ranks(Communicator& comm, std::vector<double> values) {
  if (comm.world_size() <= 1 || values.empty()) return values;
  std::vector<at::Tensor> t{torch::tensor(values, torch::kFloat64)};
  comm.all_reduce_sum(t);
  const auto sums = t[0].contiguous();
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = sums.data_ptr<double>()[static_cast<std::int64_t>(i)];
  return values;
}

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
    return panoramia::shard_range(n, comm_);
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
    return sum_over_ranks(comm_, std::move(values));
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

// BatchNorm with the statistics of the global batch, as an autograd function (the method of
// PyTorch's SyncBatchNorm). Forward: the caller passes the global per-channel mean and inverse
// standard deviation; the output is one fused pass. Backward: each rank sums dy and dy * x over its
// rows, the ranks sum those per-channel vectors, and the input gradient includes the path through
// the global mean and variance. The weight and bias gradients stay this rank's own: DataParallel
// sums them over the ranks with the other gradients.
struct SyncBatchNorm : torch::autograd::Function<SyncBatchNorm> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& weight, const at::Tensor& bias,
                            const at::Tensor& mean, const at::Tensor& invstd, double count,
                            std::int64_t comm) {
    ctx->save_for_backward({x, weight, mean, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["comm"] = comm;
    const auto shape = channel_shape(x);
    auto scale = invstd;
    if (weight.defined()) scale = scale * weight;
    auto shift = -mean * scale;
    if (bias.defined()) shift = shift + bias;
    return torch::addcmul(shift.view(shape), x, scale.view(shape));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &mean = saved[2], &invstd = saved[3];
    const double count = ctx->saved_data["count"].toDouble();
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const auto dy = grads[0].contiguous();
    const auto dims = reduce_dims(x);
    const auto shape = channel_shape(x);
    const std::int64_t c = x.size(1);
    // This rank's per-channel sums of dy and dy * (x - mean), then the global ones.
    const auto local_dy = dy.sum(dims).to(torch::kFloat64);
    const auto local_dy_xmu =
        (dy * x).sum(dims).to(torch::kFloat64) - mean.to(torch::kFloat64) * local_dy;
    std::vector<at::Tensor> sums{torch::cat({local_dy, local_dy_xmu})};
    comm->all_reduce_sum(sums);
    const auto mean_dy = sums[0].slice(0, 0, c) / count;
    const auto mean_dy_xmu = sums[0].slice(0, c, 2 * c) / count;
    const auto inv = invstd.to(torch::kFloat64), mu = mean.to(torch::kFloat64);
    const auto w = weight.defined() ? weight.to(torch::kFloat64) : torch::ones_like(inv);
    // dx = w * invstd * (dy - mean_dy - (x - mean) * invstd^2 * mean_dy_xmu)
    //    = k_dy * dy + k_x * x + k_0, per channel.
    const auto k_dy = w * inv;
    const auto k_x = -k_dy * inv * inv * mean_dy_xmu;
    const auto k_0 = -k_dy * mean_dy - k_x * mu;
    const auto to = [&](const at::Tensor& k) { return k.to(x.scalar_type()).view(shape); };
    auto dx = torch::addcmul(torch::addcmul(to(k_0), dy, to(k_dy)), x, to(k_x));
    at::Tensor dweight, dbias;
    if (weight.defined()) {
      dweight = (local_dy_xmu * inv).to(weight.scalar_type());
      dbias = local_dy.to(weight.scalar_type());
    }
    return {dx, dweight, dbias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }

  static std::vector<std::int64_t> reduce_dims(const at::Tensor& x) {
    std::vector<std::int64_t> dims{0};
    for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    return dims;
  }
  static std::vector<std::int64_t> channel_shape(const at::Tensor& x) {
    std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
    shape[1] = x.size(1);
    return shape;
  }
};

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
  const std::int64_t c = x.size(1);
  const auto dims = detail::SyncBatchNorm::reduce_dims(x);
  at::Tensor mean, invstd;
  double total = 0;
  {
    torch::NoGradGuard guard;
    // Per rank: rows n, n * mean and n * (variance + mean^2) per channel, in double; their sums
    // over the ranks give the global mean and (biased) variance.
    const double n = static_cast<double>(x.numel() / std::max<std::int64_t>(c, 1));
    auto stats = torch::zeros({2 * c + 1}, torch::kFloat64);
    if (n > 0) {
      const auto [var_r, mean_r] = torch::var_mean(x, dims, /*unbiased=*/false);
      const auto m = mean_r.to(torch::kFloat64), v = var_r.to(torch::kFloat64);
      stats = torch::cat({m * n, (v + m * m) * n, torch::full({1}, n, torch::kFloat64)});
    }
    std::vector<at::Tensor> t{stats};
    dp->communicator().all_reduce_sum(t);
    total = t[0][2 * c].template item<double>();
    const auto global_mean = t[0].slice(0, 0, c) / total;
    const auto global_var =
        (t[0].slice(0, c, 2 * c) / total - global_mean * global_mean).clamp_min(0);
    mean = global_mean.to(x.scalar_type());
    invstd = torch::rsqrt(global_var + bn->options.eps()).to(x.scalar_type());
    const double momentum = bn->options.momentum().value_or(0.1);
    bn->running_mean.mul_(1 - momentum)
        .add_(global_mean.to(bn->running_mean.scalar_type()), momentum);
    bn->running_var.mul_(1 - momentum)
        .add_((global_var * (total / std::max(1.0, total - 1))).to(bn->running_var.scalar_type()),
              momentum);
    bn->num_batches_tracked.add_(1);
  }
  at::Tensor weight, bias;
  if (bn->options.affine()) {
    weight = bn->weight;
    bias = bn->bias;
  }
  return detail::SyncBatchNorm::apply(x, weight, bias, mean, invstd, total,
                                      reinterpret_cast<std::int64_t>(&dp->communicator()));
}

}  // namespace panoramia
