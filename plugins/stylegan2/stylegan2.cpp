#include "stylegan2.hpp"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "augment.hpp"
#include "image_batch.hpp"
#include "model_state.hpp"
#include "optim/adam.hpp"

namespace panoramia::stylegan2 {
namespace {

void set_requires_grad(torch::nn::Module& module, bool value) {
  for (auto& p : module.parameters()) p.set_requires_grad(value);
}

/// Adam for a network regularised every `interval` minibatches: the reference scales the learning
/// rate and betas by interval / (interval + 1) so the total update matches an unregularised run.
std::unique_ptr<torch::optim::Adam> lazy_adam(torch::nn::Module& module, const TrainingOptions& t,
                                              std::int64_t interval) {
  const double ratio = double(interval) / double(interval + 1);
  return std::make_unique<panoramia::optim::Adam>(
      module.parameters(), torch::optim::AdamOptions(t.lr * ratio)
                               .betas({std::pow(t.beta1, ratio), std::pow(t.beta2, ratio)})
                               .eps(1e-8));
}

}  // namespace

void StyleGan2::initialize(const Preset& preset, std::int64_t channels, std::int64_t side,
                           std::int64_t classes, Context& ctx) {
  preset_ = preset;
  channels_ = channels;
  side_ = side;
  classes_ = classes;
  g_ = GeneratorNet(preset.network);
  d_ = Discriminator(preset.network);
  g_->reset_parameters(ctx.generator());
  reset_all(*d_, ctx.generator());
  g_ema_ = GeneratorNet(preset.network);
  {
    torch::NoGradGuard guard;
    auto src = g_->named_parameters();
    for (auto& p : g_ema_->named_parameters()) p.value().copy_(src[p.key()]);
    auto bufs = g_->named_buffers();
    for (auto& b : g_ema_->named_buffers()) b.value().copy_(bufs[b.key()]);
  }
  g_->to(ctx.device());
  d_->to(ctx.device());
  g_ema_->to(ctx.device());
  g_ema_->eval();
  g_opt_ = lazy_adam(*g_, preset.training, preset.training.g_reg_interval);
  d_opt_ = lazy_adam(*d_, preset.training, preset.training.r1_interval);
  cur_nimg_ = step_ = 0;
  augment_ = AdaptiveAugment(preset.training.ada_target, preset.training.ada_kimg);
  // Fakes are conditioned on labels drawn from the training labels (set by fit); uniform until
  // then.
  label_pool_ = torch::arange(std::max<std::int64_t>(classes, 1), torch::kInt64);
}

at::Tensor StyleGan2::to_network(const at::Tensor& reals) const {
  auto x = reals.to(torch::kFloat32) * 2.0 - 1.0;
  const std::int64_t pad = preset_.network.resolution - side_;
  // Pads with -1 (black), the background of MNIST-like images.
  if (pad > 0)
    x = torch::constant_pad_nd(x, {pad / 2, pad - pad / 2, pad / 2, pad - pad / 2}, -1.0);
  return x;
}

at::Tensor StyleGan2::from_network(const at::Tensor& images, bool quantize) const {
  const std::int64_t pad = preset_.network.resolution - side_;
  auto x = images;
  if (pad > 0) x = x.narrow(2, pad / 2, side_).narrow(3, pad / 2, side_);
  // As the reference's generate.py: clamp(img * 127.5 + 128, 0, 255) as 8-bit pixels.
  x = (x * 127.5 + 128.0).clamp(0.0, 255.0);
  if (quantize) x = x.floor();
  return (x / 255.0).clamp(0.0, 1.0).to(torch::kCPU, torch::kFloat32);
}

at::Tensor StyleGan2::random_labels(std::int64_t n, at::Generator& generator) const {
  if (classes_ == 0) return torch::zeros({n}, torch::kInt64);
  const auto idx = torch::randint(0, label_pool_.size(0), {n}, generator, torch::kInt64);
  return label_pool_.index_select(0, idx);
}

void StyleGan2::update_ema() {
  const auto& t = preset_.training;
  double ema_nimg = t.ema_kimg * 1000.0;
  if (t.ema_rampup > 0) ema_nimg = std::min(ema_nimg, double(cur_nimg_) * t.ema_rampup);
  const double beta = std::pow(0.5, double(t.batch_size) / std::max(ema_nimg, 1e-8));
  torch::NoGradGuard guard;
  auto params = g_->named_parameters();
  for (auto& p : g_ema_->named_parameters()) p.value().copy_(params[p.key()].lerp(p.value(), beta));
  auto buffers = g_->named_buffers();
  for (auto& b : g_ema_->named_buffers()) b.value().copy_(buffers[b.key()]);
}

namespace {

// One optimiser step on `loss`, its gradients summed over the ranks.
void descend(torch::optim::Optimizer& optimizer, DataParallel& dp, const at::Tensor& loss) {
  optimizer.zero_grad();
  dp.prepare();
  loss.backward();
  dp.synchronize();
  optimizer.step();
}

}  // namespace

StepLosses StyleGan2::train_step(const at::Tensor& reals, const at::Tensor& labels, Context& ctx) {
  if (!g_) throw std::logic_error("train_step() before initialize()");
  const auto device = ctx.device();
  const auto& t = preset_.training;
  const std::int64_t n = reals.size(0), z_dim = preset_.network.z_dim;
  auto& gen = ctx.generator();
  auto& comm = ctx.communicator();
  const int world = comm.world_size();
  if (n < world)
    throw std::invalid_argument("stylegan2 needs at least one image per rank: a batch of " +
                                std::to_string(n) + " on " + std::to_string(world) + " ranks");
  // One DataParallel per network (fit()'s, or made for this step; the innermost is made last).
  std::unique_ptr<DataParallel> own_g, own_d;
  DataParallel* g_dp = g_dp_;
  DataParallel* d_dp = d_dp_;
  if (g_dp == nullptr) g_dp = (own_g = std::make_unique<DataParallel>(comm, *g_)).get();
  if (d_dp == nullptr) d_dp = (own_d = std::make_unique<DataParallel>(comm, *d_)).get();
  // This rank's rows of the global batch; every random draw below is for all n rows (the same
  // calls in the same order as one process), and the networks run on the shard's rows. With one
  // rank the shard is the whole batch and nothing is sliced or reweighted.
  const auto [begin, end] = g_dp->shard_range(n);
  const Shard shard = world > 1 ? Shard{begin, n, &comm} : Shard{};
  const auto rows = [&, begin = begin, end = end](const at::Tensor& x) {
    return world > 1 ? x.slice(0, begin, end) : x;
  };
  // Each rank's mean over its rows, weighted by its share: the sum over ranks is the global mean.
  const double share = g_dp->loss_weight(n);
  const auto weighted = [&](const at::Tensor& loss) { return world > 1 ? loss * share : loss; };
  const auto real = to_network(rows(reals)).to(device);
  const auto real_c = rows(labels).to(device);
  StepLosses out;
  g_->train();
  d_->train();

  // G: non-saturating logistic loss, softplus(-D(G(z))).
  set_requires_grad(*d_, false);
  {
    const auto z = rows(torch::randn({n, z_dim}, gen, torch::kFloat32)).to(device);
    const auto c = rows(random_labels(n, gen)).to(device);
    const auto fake = g_->forward(z, c, NoiseMode::kRandom, &gen, 1.0, shard);
    const auto loss =
        weighted(torch::softplus(-d_->forward(augment_.apply(fake, gen, shard), c)).mean());
    descend(*g_opt_, *g_dp, loss);
    out.g_loss = loss.item<double>();
  }
  set_requires_grad(*d_, true);

  // D: softplus(D(G(z))) + softplus(-D(x)).
  {
    const auto z = rows(torch::randn({n, z_dim}, gen, torch::kFloat32)).to(device);
    const auto c = rows(random_labels(n, gen)).to(device);
    at::Tensor fake;
    {
      torch::NoGradGuard guard;
      fake = g_->forward(z, c, NoiseMode::kRandom, &gen, 1.0, shard);
    }
    const auto real_logits = d_->forward(augment_.apply(real, gen, shard), real_c);
    const auto loss =
        weighted(torch::softplus(d_->forward(augment_.apply(fake, gen, shard), c)).mean() +
                 torch::softplus(-real_logits).mean());
    if (t.ada) augment_.observe(real_logits);
    descend(*d_opt_, *d_dp, loss);
    out.d_loss = loss.item<double>();
  }

  // Lazy R1 on the reals, weighted by the interval.
  if (t.r1_gamma > 0 && step_ % t.r1_interval == 0) {
    const auto x = real.detach().requires_grad_(true);
    const auto logits = d_->forward(augment_.apply(x, gen, shard), real_c);
    const auto grad = torch::autograd::grad({logits.sum()}, {x}, {}, true, true)[0];
    const auto penalty = grad.square().sum({1, 2, 3});
    const auto loss = weighted((penalty * (t.r1_gamma / 2)).mean() * double(t.r1_interval));
    descend(*d_opt_, *d_dp, loss);
    out.r1 = weighted(penalty.mean()).item<double>();
  }
  if (world > 1) {  // the global batch's losses on every rank
    const auto sums = g_dp->sum({out.g_loss, out.d_loss, out.r1});
    out.g_loss = sums[0];
    out.d_loss = sums[1];
    out.r1 = sums[2];
  }
  ++step_;
  cur_nimg_ += n;
  // ADA's sign statistics are summed over the ranks, so p moves the same way on every rank.
  if (t.ada && step_ % t.ada_interval == 0) augment_.adjust(n * t.ada_interval, &comm);
  out.augment_p = augment_.p();
  update_ema();
  return out;
}

double StyleGan2::discriminator_loss(const at::Tensor& reals, const at::Tensor& real_labels,
                                     const at::Tensor& fakes, const at::Tensor& fake_labels,
                                     Context& ctx) {
  torch::NoGradGuard guard;
  const auto device = ctx.device();
  d_->eval();
  const auto fake = d_->forward(to_network(fakes).to(device), fake_labels.to(device));
  const auto real = d_->forward(to_network(reals).to(device), real_labels.to(device));
  return (torch::softplus(fake).mean() + torch::softplus(-real).mean()).item<double>();
}

at::Tensor StyleGan2::synthesize(const at::Tensor& z, const at::Tensor& labels, Context& ctx) {
  torch::NoGradGuard guard;
  const auto& o = ctx.options();
  const auto noise = noise_mode_from(o.get_string("noise_mode"));
  const double psi = o.get_double("truncation_psi");
  const auto device = ctx.device();
  std::vector<at::Tensor> out;
  constexpr std::int64_t kBatch = 256;
  for (std::int64_t i = 0; i < z.size(0); i += kBatch) {
    const auto end = std::min(z.size(0), i + kBatch);
    const auto img =
        g_ema_->forward(z.slice(0, i, end).to(device), labels.slice(0, i, end).to(device), noise,
                        &ctx.generator(), psi);
    out.push_back(from_network(img, o.get_bool("quantize")));
  }
  return out.empty() ? torch::empty({0, channels_, side_, side_}) : torch::cat(out);
}

Batch StyleGan2::sample(std::int64_t n, Context& ctx) {
  if (!g_ema_) throw std::logic_error("sample() before fit() or load()");
  // Balanced classes like the reference's per-class generation, in a seeded random order.
  const auto labels = classes_ > 0
                          ? (torch::arange(n, torch::kInt64) % classes_)
                                .index_select(0, torch::randperm(n, ctx.generator(), torch::kInt64))
                          : torch::zeros({n}, torch::kInt64);
  const auto z = torch::randn({n, preset_.network.z_dim}, ctx.generator(), torch::kFloat32);
  Batch b;
  b.x = synthesize(z, labels, ctx);
  b.y = labels;
  b.modality = "image";
  return b;
}

void StyleGan2::fit(const Batch& train, Context& ctx) {
  const auto& o = ctx.options();
  image::check_image_batch(train, "the generator's training set", false);
  if (train.x.size(2) != train.x.size(3))
    throw std::invalid_argument("stylegan2 needs square images, got " +
                                std::to_string(train.x.size(2)) + "x" +
                                std::to_string(train.x.size(3)));
  const std::int64_t classes = train.y.defined() ? train.y.max().item<std::int64_t>() + 1 : 0;
  const auto preset = configure(o, train.x.size(1), train.x.size(2), classes);
  const auto& t = preset.training;
  const std::int64_t n = train.size();
  const auto snapshot = ctx.work_dir() / "snapshot" / "stylegan2.pt";
  at::Tensor order;
  std::int64_t cursor = 0;
  initialize(preset, train.x.size(1), train.x.size(2), classes, ctx);
  label_pool_ = classes > 0 ? train.y.to(torch::kInt64) : torch::zeros({n}, torch::kInt64);
  const std::string fp = fingerprint(train);
  // Resumes only when every rank finds the same snapshot (each rank reads its own work directory;
  // only rank 0 writes one, so with private directories the ranks start afresh together).
  auto& comm = ctx.communicator();
  const bool found = o.get_bool("resume") && std::filesystem::exists(snapshot);
  const bool same = found && read_fingerprint(snapshot) == fp;
  std::vector<at::Tensor> votes{
      torch::tensor({found ? 1.0 : 0.0, same ? 1.0 : 0.0}, torch::kFloat64)};
  if (comm.world_size() > 1) comm.all_reduce_sum(votes);
  const double world = comm.world_size();
  if (votes[0][0].item<double>() == world) {
    if (votes[0][1].item<double>() == world) {
      read(snapshot, ctx, &order, &cursor);
      ctx.logger()->info("stylegan2: resuming from {} at {:.1f} kimg", snapshot.string(),
                         double(cur_nimg_) / 1000.0);
    } else {
      ctx.logger()->info("stylegan2: ignoring {} (other settings or data)", snapshot.string());
    }
  }
  if (!order.defined()) order = torch::randperm(n, ctx.generator(), torch::kInt64);
  // Data-parallel training: one DataParallel per network (rank 0's weights broadcast, gradients
  // summed), held while the loop runs; each step draws the global batch on every rank.
  DataParallel g_dp(comm, *g_), d_dp(comm, *d_);
  struct Release {
    StyleGan2& self;
    ~Release() { self.g_dp_ = self.d_dp_ = nullptr; }
  } release{*this};
  g_dp_ = &g_dp;
  d_dp_ = &d_dp;
  ctx.logger()->info(
      "stylegan2: {}x{}x{} images at network resolution {}, {} classes, G {} / D {} parameters, "
      "{} kimg in batches of {}",
      channels_, side_, side_, preset.network.resolution, classes, image::count_parameters(*g_),
      image::count_parameters(*d_), t.kimg, t.batch_size);

  const auto reals = train.x.to(torch::kFloat32);
  const std::int64_t total = std::int64_t(std::ceil(t.kimg * 1000.0 / double(t.batch_size)));
  const std::int64_t snapshot_every =
      t.snapshot_kimg > 0
          ? std::max<std::int64_t>(1, std::int64_t(t.snapshot_kimg * 1000 / t.batch_size))
          : 0;
  auto progress = ctx.progress("training stylegan2", total);
  if (step_ > 0) progress->advance(std::min(step_, total), "resumed");
  StepLosses running;
  while (step_ < total) {
    // The next full minibatch from a seeded permutation, reshuffled when used up.
    std::vector<at::Tensor> parts;
    std::int64_t need = t.batch_size;
    while (need > 0) {
      if (cursor >= n) {
        order = torch::randperm(n, ctx.generator(), torch::kInt64);
        cursor = 0;
      }
      const std::int64_t take = std::min(need, n - cursor);
      parts.push_back(order.slice(0, cursor, cursor + take));
      cursor += take;
      need -= take;
    }
    const auto idx = torch::cat(parts);
    auto xb = reals.index_select(0, idx);
    if (t.mirror) xb = image::augment(xb, {true, 0}, ctx.generator());
    const auto losses = train_step(xb, label_pool_.index_select(0, idx), ctx);
    running.g_loss = 0.9 * running.g_loss + 0.1 * losses.g_loss;
    running.d_loss = 0.9 * running.d_loss + 0.1 * losses.d_loss;
    progress->advance(
        1, fmt::format("kimg {:.1f} G {:.3f} D {:.3f} p {:.3f}", double(cur_nimg_) / 1000.0,
                       running.g_loss, running.d_loss, losses.augment_p));
    if (snapshot_every > 0 && step_ % snapshot_every == 0 && step_ < total && writes(ctx))
      write(snapshot, ctx, fp, order, cursor);
  }
  progress->finish();
  if (writes(ctx)) write(snapshot, ctx, fp, order, cursor);
  write_grid(train, ctx);
}

}  // namespace panoramia::stylegan2
