#include "panoramia/data_parallel.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <torch/autograd.h>
#include <torch/torch.h>

namespace panoramia {

std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, const Communicator& comm) {
  const std::int64_t w = comm.world_size(), r = comm.rank();
  const std::int64_t base = n / w, extra = n % w;
  const std::int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

std::vector<double> sum_over_ranks(Communicator& comm, std::vector<double> values) {
  if (comm.world_size() <= 1 || values.empty()) return values;
  std::vector<at::Tensor> t{torch::tensor(values, torch::kFloat64)};
  comm.all_reduce_sum(t);
  const auto sums = t[0].contiguous();
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = sums.data_ptr<double>()[static_cast<std::int64_t>(i)];
  return values;
}

// The gradient buckets of a DataParallel with several ranks and the hooks that fill them.
struct DataParallel::Buckets {
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

  Buckets(Communicator& comm, torch::nn::Module& module, std::int64_t bucket_bytes) : comm(comm) {
    auto params = module.parameters();
    std::reverse(params.begin(), params.end());
    for (auto& p : params) {
      if (!p.requires_grad()) continue;
      const std::int64_t bytes = p.numel() * static_cast<std::int64_t>(p.element_size());
      if (buckets.empty() || buckets.back().bytes + bytes > bucket_bytes ||
          buckets.back().dtype != p.scalar_type() || buckets.back().device != p.device())
        buckets.push_back(Bucket{{}, {}, 0, 0, p.scalar_type(), p.device(), {}, 0});
      auto& bucket = buckets.back();
      slots.push_back(Slot{p, buckets.size() - 1, bucket.numel, false});
      bucket.slots.push_back(slots.size() - 1);
      bucket.numel += p.numel();
      bucket.bytes += bytes;
    }
    for (auto& bucket : buckets)
      bucket.flat =
          torch::zeros({bucket.numel}, at::TensorOptions(bucket.dtype).device(bucket.device));
    for (std::size_t i = 0; i < slots.size(); ++i)
      hooks.push_back(slots[i].param.register_hook(
          [this, i](const at::Tensor& grad) { on_gradient(i, grad); }));
  }
  ~Buckets() {
    for (std::size_t i = 0; i < hooks.size(); ++i) slots[i].param.remove_hook(hooks[i]);
  }

  at::Tensor view(const Slot& s) {
    return buckets[s.bucket].flat.slice(0, s.offset, s.offset + s.param.numel());
  }

  void on_gradient(std::size_t i, const at::Tensor& grad) {
    if (!armed) return;
    auto& s = slots[i];
    torch::NoGradGuard guard;
    if (s.ready) {  // a second gradient for the same parameter in one backward(): accumulate
      view(s).add_(grad.reshape({-1}));
      return;
    }
    view(s).copy_(grad.reshape({-1}));
    s.ready = true;
    if (--buckets[s.bucket].waiting == 0) launch_ready();
  }

  // Starts the all-reduces of complete buckets in bucket order (the same order on every rank).
  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].waiting == 0) {
      auto& b = buckets[next_launch++];
      b.pending = comm.all_reduce_sum_async({b.flat});
    }
  }

  void prepare() {
    armed = true;
    next_launch = 0;
    for (auto& s : slots) s.ready = false;
    for (auto& b : buckets) {
      b.waiting = b.slots.size();
      b.pending.reset();
    }
  }

  void synchronize() {
    if (!armed) throw std::logic_error("DataParallel::synchronize() without prepare()");
    armed = false;
    torch::NoGradGuard guard;
    auto used = torch::zeros({static_cast<std::int64_t>(slots.size())}, torch::kInt32);
    auto* flags = used.data_ptr<std::int32_t>();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      auto& s = slots[i];
      if (s.ready) {
        flags[i] = 1;
        continue;
      }
      view(s).zero_();
      s.ready = true;
      --buckets[s.bucket].waiting;
    }
    launch_ready();
    // After every bucket, in the same order on every rank: which parameters some rank used.
    std::vector<at::Tensor> used_any{used};
    comm.all_reduce_sum(used_any);
    for (auto& b : buckets) b.pending->wait();
    const auto* any = used_any[0].contiguous().data_ptr<std::int32_t>();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      auto& s = slots[i];
      if (any[i] == 0) continue;
      const auto reduced = view(s).view_as(s.param);
      auto& grad = s.param.mutable_grad();
      if (grad.defined())
        grad.copy_(reduced);
      else
        grad = reduced.clone();
    }
  }

  Communicator& comm;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::vector<unsigned> hooks;
  std::size_t next_launch = 0;
  bool armed = false;
};

namespace {

DataParallel*& active_data_parallel() {
  static thread_local DataParallel* instance = nullptr;
  return instance;
}

}  // namespace

DataParallel::DataParallel(Communicator& comm, torch::nn::Module& module, std::int64_t bucket_bytes)
    : comm_(comm), previous_(active_data_parallel()) {
  active_data_parallel() = this;
  if (comm_.world_size() <= 1) return;
  {
    torch::NoGradGuard guard;
    std::vector<at::Tensor> state;
    for (auto& p : module.parameters()) state.push_back(p.data());
    for (auto& b : module.buffers()) state.push_back(b.data());
    comm_.broadcast(state, 0);
  }
  buckets_ = std::make_unique<Buckets>(comm_, module, bucket_bytes);
}

DataParallel::~DataParallel() {
  active_data_parallel() = previous_;
}

DataParallel* DataParallel::active() {
  return active_data_parallel();
}

at::Tensor DataParallel::shard(const at::Tensor& t) const {
  const auto [begin, end] = shard_range(t.size(0));
  return t.slice(0, begin, end);
}

double DataParallel::loss_weight(std::int64_t global_rows) const {
  const auto [begin, end] = shard_range(global_rows);
  return global_rows == 0 ? 0.0
                          : static_cast<double>(end - begin) / static_cast<double>(global_rows);
}

void DataParallel::prepare() {
  if (buckets_) buckets_->prepare();
}

void DataParallel::synchronize() {
  if (buckets_) buckets_->synchronize();
}

BatchRows global_rows(const DataParallel& dp, std::int64_t n) {
  const auto [begin, end] = dp.shard_range(n);
  return BatchRows{n, begin, end};
}

at::Tensor global_batch_dropout(const at::Tensor& x, double p, at::Generator* generator,
                                BatchRows rows) {
  if (!(p >= 0 && p < 1))
    throw std::invalid_argument("dropout probability " + std::to_string(p) + " is outside [0, 1)");
  if (p == 0) return x;
  at::Tensor keep;
  if (rows.global < 0) {
    // As LibTorch's own dropout: a Bernoulli(1 - p) tensor shaped like x.
    keep = generator == nullptr
               ? at::empty_like(x).bernoulli_(1 - p)
               : at::empty_like(x, x.options().device(c10::kCPU)).bernoulli_(1 - p, *generator);
  } else {
    if (rows.begin < 0 || rows.begin > rows.end || rows.end > rows.global)
      throw std::invalid_argument("dropout rows [" + std::to_string(rows.begin) + ", " +
                                  std::to_string(rows.end) + ") are not rows of a batch of " +
                                  std::to_string(rows.global));
    if (x.dim() == 0 || x.size(0) != rows.end - rows.begin)
      throw std::invalid_argument(
          "dropout: an input of " + std::to_string(x.dim() == 0 ? 0 : x.size(0)) +
          " rows in a data-parallel shard of " + std::to_string(rows.end - rows.begin));
    auto sizes = x.sizes().vec();
    sizes[0] = rows.global;
    keep = generator == nullptr
               ? at::empty(sizes, x.options()).bernoulli_(1 - p)
               : at::empty(sizes, x.options().device(c10::kCPU)).bernoulli_(1 - p, *generator);
    keep = keep.slice(0, rows.begin, rows.end);
  }
  return x * keep.to(x.device()).div_(1 - p);
}

DropoutScope::State& DropoutScope::current() {
  static thread_local State state;
  return state;
}

DropoutScope::DropoutScope(at::Generator* generator, BatchRows rows) : previous_(current()) {
  current() = State{generator, rows};
}

DropoutScope::~DropoutScope() {
  current() = previous_;
}

void DropoutScope::set_rows(BatchRows rows) {
  current().rows = rows;
}

at::Tensor scoped_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p == 0) return x;
  const auto& scope = DropoutScope::current();
  return global_batch_dropout(x, p, scope.generator, scope.rows);
}

namespace detail {
namespace {

std::vector<std::int64_t> reduce_dims(const at::Tensor& x) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

std::vector<std::int64_t> channel_shape(const at::Tensor& x) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

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
};

}  // namespace

at::Tensor synchronized_batch_norm(DataParallel& dp, const at::Tensor& x,
                                   const BatchNormState& bn) {
  const std::int64_t c = x.size(1);
  const auto dims = reduce_dims(x);
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
    dp.communicator().all_reduce_sum(t);
    total = t[0][2 * c].item<double>();
    const auto global_mean = t[0].slice(0, 0, c) / total;
    const auto global_var =
        (t[0].slice(0, c, 2 * c) / total - global_mean * global_mean).clamp_min(0);
    mean = global_mean.to(x.scalar_type());
    invstd = torch::rsqrt(global_var + bn.eps).to(x.scalar_type());
    auto running_mean = bn.running_mean, running_var = bn.running_var;
    running_mean.mul_(1 - bn.momentum)
        .add_(global_mean.to(running_mean.scalar_type()), bn.momentum);
    running_var.mul_(1 - bn.momentum)
        .add_((global_var * (total / std::max(1.0, total - 1))).to(running_var.scalar_type()),
              bn.momentum);
    auto batches = bn.num_batches_tracked;
    batches.add_(1);
  }
  return SyncBatchNorm::apply(x, bn.weight, bn.bias, mean, invstd, total,
                              reinterpret_cast<std::int64_t>(&dp.communicator()));
}

}  // namespace detail
}  // namespace panoramia
