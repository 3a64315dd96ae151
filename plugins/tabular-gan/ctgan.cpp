#include "ctgan.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>
#include <panoramia/flops.hpp>

#include "optim/adam.hpp"

namespace panoramia::tabular_gan {
namespace {

// LibTorch's default for linear layers, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
// drawn from `generator`.
void reset_linear_layers(torch::nn::Module& module, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    auto* linear = m->as<torch::nn::Linear>();
    if (!linear) continue;
    const double bound = 1.0 / std::sqrt(double(linear->weight.size(1)));
    linear->weight.uniform_(-bound, bound, generator);
    if (linear->bias.defined()) linear->bias.uniform_(-bound, bound, generator);
  }
}

// This rank's rows [begin, end) of a global batch of `batch` rows: whole pac groups (the
// discriminator scores and the penalty couple the rows of a group), contiguous, the ranks' group
// counts differing by at most one. Without a DataParallel: the whole batch.
std::pair<int64_t, int64_t> shard_rows(const DataParallel* dp, int64_t batch, int64_t pac) {
  if (dp == nullptr) return {0, batch};
  const auto [begin, end] = dp->shard_range(batch / pac);
  return {begin * pac, end * pac};
}

void backward_and_step(const torch::Tensor& loss, torch::optim::Optimizer& optimizer,
                       DataParallel* dp) {
  optimizer.zero_grad();
  if (dp) dp->prepare();
  loss.backward();
  if (dp) dp->synchronize();
  optimizer.step();
}

}  // namespace

Ctgan::Ctgan(CtganOptions options) : options_(std::move(options)) {
  if (options_.batch_size <= 0 || options_.pac <= 0 || options_.batch_size % options_.pac != 0)
    throw std::invalid_argument("batch_size (" + std::to_string(options_.batch_size) +
                                ") must be a positive multiple of pac (" +
                                std::to_string(options_.pac) + ")");
  if (options_.epochs <= 0 || options_.discriminator_steps <= 0)
    throw std::invalid_argument("epochs and discriminator_steps must be positive");
}

void Ctgan::build_networks(at::Generator& generator) {
  GeneratorOptions g;
  g.noise_dim = options_.embedding_dim;
  g.cond_dim = transformer_.cond_dim();
  g.hidden = options_.generator_dim;
  g.data_dim = transformer_.output_dim();
  DiscriminatorOptions d;
  d.input_dim = transformer_.output_dim() + transformer_.cond_dim();
  d.hidden = options_.discriminator_dim;
  d.pac = options_.pac;
  generator_ = TabularGenerator(g);
  discriminator_ = Discriminator(d, generator);
  // LibTorch initialises from its global generator; redraw the weights from ours instead.
  reset_linear_layers(*generator_, generator);
  reset_linear_layers(*discriminator_, generator);
  generator_optimizer_ = std::make_unique<panoramia::optim::Adam>(
      generator_->parameters(), torch::optim::AdamOptions(options_.generator_lr)
                                    .betas({0.5, 0.9})
                                    .weight_decay(options_.generator_decay));
  discriminator_optimizer_ = std::make_unique<panoramia::optim::Adam>(
      discriminator_->parameters(), torch::optim::AdamOptions(options_.discriminator_lr)
                                        .betas({0.5, 0.9})
                                        .weight_decay(options_.discriminator_decay));
}

void Ctgan::prepare(const Batch& train, at::Generator& generator) {
  transformer_.fit(train, options_.gmm);
  raw_ = train.x.to(torch::kFloat64);
  data_ = transformer_.transform(train, generator);
  sampler_ = std::make_unique<ConditionalSampler>(transformer_, raw_);
  build_networks(generator);
}

StepLosses Ctgan::step(at::Generator& gen) {
  return step(gen, nullptr, nullptr);
}

StepLosses Ctgan::step(at::Generator& gen, DataParallel* generator_dp,
                       DataParallel* discriminator_dp) {
  if (!generator_) throw std::logic_error("CTGAN step before prepare()");
  const int64_t b = options_.batch_size, pac = options_.pac, groups = b / pac;
  // Every draw below is for the global batch of b rows, in the order of one process; this rank
  // computes on rows [r0, r1) (whole pac groups g0 = r0 / pac on). One process: all rows.
  const auto [r0, r1] = shard_rows(generator_dp, b, pac);
  const Part rows{b, r0}, group_part{groups, r0 / pac};
  const auto mine = [&](const torch::Tensor& t) { return t.slice(0, r0, r1); };
  const auto& spans = transformer_.spans();
  StepLosses out;
  generator_->train();
  discriminator_->train();
  for (int64_t s = 0; s < options_.discriminator_steps; ++s) {
    const auto conditions = sampler_->sample(b, options_.log_frequency, gen);
    const auto cond = mine(conditions.cond);
    torch::Tensor fake;
    {
      torch::NoGradGuard no_grad;
      const auto z = torch::randn({b, options_.embedding_dim}, gen, torch::kFloat32);
      fake =
          apply_activations(generator_->forward(torch::cat({mine(z), cond}, 1)), spans, gen, rows);
    }
    // Real rows matching a shuffled copy of the conditions (training-by-sampling).
    const auto perm = torch::randperm(b, gen, torch::kInt64);
    torch::Tensor real, real_cond = mine(conditions.cond.index_select(0, perm));
    if (sampler_->empty()) {
      real = data_.index_select(0, mine(torch::randint(data_.size(0), {b}, gen, torch::kInt64)));
    } else {
      Conditions shuffled;
      const auto p = perm.accessor<int64_t, 1>();
      for (int64_t i = 0; i < b; ++i) {
        shuffled.column.push_back(conditions.column[p[i]]);
        shuffled.category.push_back(conditions.category[p[i]]);
      }
      real = data_.index_select(0, mine(sampler_->matching_rows(shuffled, gen)));
    }
    const auto fake_in = torch::cat({fake, cond}, 1);
    const auto real_in = torch::cat({real, real_cond}, 1);
    const auto penalty = gradient_penalty(discriminator_, real_in, fake_in, pac,
                                          options_.penalty_weight, gen, group_part);
    // The fakes are scored first, then the real rows: their dropout masks are drawn in this order
    // (the order the unsequenced `-(D(real).mean() - D(fake).mean())` of earlier versions got).
    const auto fake_score = global_mean(discriminator_->forward(fake_in, group_part), groups);
    const auto real_score = global_mean(discriminator_->forward(real_in, group_part), groups);
    const auto loss = -(real_score - fake_score);
    backward_and_step(loss + penalty, *discriminator_optimizer_, discriminator_dp);
    out.discriminator = loss.item<double>();
    out.penalty = penalty.item<double>();
  }
  const auto conditions = sampler_->sample(b, options_.log_frequency, gen);
  const auto cond = mine(conditions.cond);
  const auto z = torch::randn({b, options_.embedding_dim}, gen, torch::kFloat32);
  const auto raw = generator_->forward(torch::cat({mine(z), cond}, 1));
  const auto fake = apply_activations(raw, spans, gen, rows);
  const auto critic = discriminator_->forward(torch::cat({fake, cond}, 1), group_part);
  const auto cond_loss =
      condition_loss(raw, cond, mine(conditions.mask), transformer_.discrete(), b);
  const auto loss = -global_mean(critic, groups) + cond_loss;
  backward_and_step(loss, *generator_optimizer_, generator_dp);
  out.generator = loss.item<double>();
  out.condition = cond_loss.item<double>();
  return out;
}

double Ctgan::step_flops(int ranks) const {
  // A rank's shard of the batch; the critic sees it as batch / pac packed rows.
  const double rows = std::max<int64_t>(1, options_.batch_size / std::max(1, ranks));
  const double packed = rows / double(options_.pac);
  const double generator = parameter_count(*generator_);
  const double critic = parameter_count(*discriminator_);
  // Each critic update: a forward pass of the generator (2 per weight and row), the critic's
  // forward and backward on real and fake rows, and its gradient penalty, a backward pass through
  // a backward pass (about three times a plain training pass: 3 x 6 per weight and packed row).
  // The generator update: forward and backward through both networks.
  return double(options_.discriminator_steps) * (2 * generator * rows + 18 * critic * packed) +
         6 * generator * rows + 6 * critic * packed;
}

void Ctgan::fit(const Batch& train, Context& ctx) {
  auto& gen = ctx.generator();
  prepare(train, gen);
  const int64_t steps = options_.steps_per_epoch > 0
                            ? options_.steps_per_epoch
                            : std::max<int64_t>(1, data_.size(0) / options_.batch_size);
  std::string modes;
  for (const auto& g : transformer_.mixtures())
    if (g.size() > 0) modes += (modes.empty() ? "" : ",") + std::to_string(g.size());
  ctx.logger()->info(
      "tabular-gan: {} rows encoded to {} values ({} condition values; modes per continuous "
      "column: {}); {} epochs of {} steps, batch {}",
      data_.size(0), transformer_.output_dim(), transformer_.cond_dim(), modes, options_.epochs,
      steps, options_.batch_size);
  // Data-parallel over the audit's ranks (one DataParallel per network; with one rank they do
  // nothing): every rank draws each global batch and trains on its shard of pac groups.
  DataParallel generator_dp(ctx.communicator(), *generator_);
  DataParallel discriminator_dp(ctx.communicator(), *discriminator_);
  ctx.loop_threads("training the tabular GAN", step_flops(ctx.communicator().world_size()));
  auto progress = ctx.progress("training the tabular GAN", options_.epochs);
  for (int64_t epoch = 1; epoch <= options_.epochs; ++epoch) {
    StepLosses mean;
    for (int64_t s = 0; s < steps; ++s) {
      const auto part = step(gen, &generator_dp, &discriminator_dp);
      // The global batch's losses (the ranks' parts summed), so every rank decides alike.
      const auto sums = generator_dp.sum({part.discriminator, part.generator, part.condition});
      StepLosses l;
      l.discriminator = sums[0];
      l.generator = sums[1];
      l.condition = sums[2];
      if (!std::isfinite(l.discriminator) || !std::isfinite(l.generator))
        throw std::runtime_error("tabular GAN training diverged at epoch " + std::to_string(epoch) +
                                 " (non-finite loss)");
      mean.discriminator += l.discriminator / double(steps);
      mean.generator += l.generator / double(steps);
      mean.condition += l.condition / double(steps);
    }
    char status[128];
    std::snprintf(status, sizeof status, "loss D %.4f G %.4f cond %.4f", mean.discriminator,
                  mean.generator, mean.condition);
    progress->advance(1, status);
    if (epoch % std::max<int64_t>(1, options_.epochs / 10) == 0 || epoch == options_.epochs)
      ctx.logger()->debug("tabular-gan epoch {}: {}", epoch, status);
  }
  progress->finish();
}

torch::Tensor Ctgan::sample(int64_t n, at::Generator& gen) {
  if (!generator_) throw std::logic_error("sample() before fit() or load()");
  if (n < 0) throw std::invalid_argument("cannot sample a negative number of rows");
  torch::NoGradGuard no_grad;
  generator_->eval();
  std::vector<torch::Tensor> parts;
  const auto& spans = transformer_.spans();
  for (int64_t done = 0; done < n; done += options_.batch_size) {
    const int64_t b = std::min(options_.batch_size, n - done);
    const auto cond = sampler_ ? sampler_->sample(b, /*log_frequency=*/false, gen).cond
                               : torch::zeros({b, transformer_.cond_dim()});
    const auto z = torch::randn({b, options_.embedding_dim}, gen, torch::kFloat32);
    const auto fake = apply_activations(generator_->forward(torch::cat({z, cond}, 1)), spans, gen);
    parts.push_back(transformer_.inverse(fake));
  }
  if (parts.empty())
    return torch::zeros({0, int64_t(transformer_.mixtures().size())}, torch::kFloat64);
  return torch::cat(parts, 0);
}

void Ctgan::save(torch::serialize::OutputArchive& a) const {
  if (!generator_) throw std::logic_error("save() before fit()");
  transformer_.save(a);
  a.write("ctgan.shape", torch::tensor({options_.embedding_dim, options_.pac, options_.batch_size},
                                       torch::kInt64));
  a.write("ctgan.generator_dim", torch::tensor(options_.generator_dim, torch::kInt64));
  a.write("ctgan.discriminator_dim", torch::tensor(options_.discriminator_dim, torch::kInt64));
  // Only the category frequencies are kept, never training rows.
  const auto counts = sampler_->counts();
  for (size_t i = 0; i < counts.size(); ++i)
    a.write("ctgan.counts." + std::to_string(i), torch::tensor(counts[i], torch::kFloat64));
  torch::serialize::OutputArchive g;
  generator_->save(g);
  a.write("ctgan.generator", g);
}

void Ctgan::load(torch::serialize::InputArchive& a, at::Generator& generator) {
  transformer_.load(a);
  auto ints = [&](const std::string& key) {
    torch::Tensor t;
    a.read(key, t);
    t = t.contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  };
  const auto shape = ints("ctgan.shape");
  options_.embedding_dim = shape.at(0);
  options_.pac = shape.at(1);
  options_.batch_size = shape.at(2);
  options_.generator_dim = ints("ctgan.generator_dim");
  options_.discriminator_dim = ints("ctgan.discriminator_dim");
  std::vector<std::vector<double>> counts;
  for (size_t i = 0; i < transformer_.discrete().size(); ++i) {
    torch::Tensor t;
    a.read("ctgan.counts." + std::to_string(i), t);
    t = t.contiguous();
    counts.emplace_back(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  }
  sampler_ = std::make_unique<ConditionalSampler>(transformer_, counts);
  raw_ = torch::Tensor();
  data_ = torch::Tensor();
  build_networks(generator);
  torch::serialize::InputArchive g;
  a.read("ctgan.generator", g);
  generator_->load(g);
}

}  // namespace panoramia::tabular_gan
