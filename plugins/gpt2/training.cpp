#include "training.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>
#include <panoramia/flops.hpp>

#include "optim/adam.hpp"

namespace panoramia::gpt2 {
namespace {

bool decays(const std::string& name) {
  return name.find("bias") == std::string::npos && name.find("ln_") == std::string::npos;
}

}  // namespace

std::unique_ptr<torch::optim::AdamW> make_adamw(Gpt2& model, const TrainOptions& options) {
  std::vector<at::Tensor> with_decay, without_decay;
  for (const auto& p : model->named_parameters())
    (decays(p.key()) ? with_decay : without_decay).push_back(p.value());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      with_decay, std::make_unique<torch::optim::AdamWOptions>(
                      torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay)));
  groups.emplace_back(without_decay, std::make_unique<torch::optim::AdamWOptions>(
                                         torch::optim::AdamWOptions(options.lr).weight_decay(0)));
  return std::make_unique<panoramia::optim::AdamW>(groups, torch::optim::AdamWOptions(options.lr));
}

double learning_rate(const TrainOptions& options, std::int64_t step, std::int64_t total) {
  if (step <= options.warmup_steps)
    return options.lr * double(step) / double(std::max<std::int64_t>(options.warmup_steps, 1));
  return options.lr *
         std::max(0.0, double(total - step + 1) /
                           double(std::max<std::int64_t>(total - options.warmup_steps, 1)));
}

double mean_loss(Gpt2& model, const at::Tensor& blocks, std::int64_t batch_size) {
  if (blocks.size(0) == 0) return std::numeric_limits<double>::quiet_NaN();
  return token_losses(model, blocks, batch_size).to(torch::kFloat64).mean().item<double>();
}

void end_epoch(Gpt2& model, const at::Tensor& validation, const TrainOptions& options, Context& ctx,
               const std::string& what, std::int64_t epoch, double train_loss,
               const EpochCallback& on_epoch) {
  const double val_loss = validation.defined() && validation.size(0) > 0
                              ? mean_loss(model, validation, options.eval_batch_size)
                              : std::numeric_limits<double>::quiet_NaN();
  ctx.logger()->debug("{}: epoch {} train loss {:.4f} validation loss {:.4f}", what, epoch,
                      train_loss, val_loss);
  if (on_epoch) on_epoch(epoch, train_loss, val_loss);
}

void train_lm(Gpt2& model, const at::Tensor& train, const at::Tensor& validation,
              const TrainOptions& options, Context& ctx, const std::string& what,
              const EpochCallback& on_epoch) {
  if (train.dim() != 2 || train.size(0) == 0 || train.size(1) < 2)
    throw std::invalid_argument("training needs token blocks [n, T] with n > 0 and T > 1");
  if (options.batch_size <= 0 || options.epochs < 0)
    throw std::invalid_argument("batch_size must be positive and epochs not negative");
  const auto device = model_device(model);
  auto optimizer = make_adamw(model, options);
  const std::int64_t n = train.size(0);
  const std::int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const std::int64_t total = steps_per_epoch * options.epochs;
  // A rank's shard of each batch of blocks of train.size(1) tokens.
  ctx.loop_threads(what, dense_training_flops(
                             *model, std::max<std::int64_t>(
                                         1, options.batch_size / ctx.communicator().world_size()) *
                                         train.size(1)));
  auto progress = ctx.progress(what, total);
  DataParallel dp(ctx.communicator(), *model);
  std::int64_t step = 0;
  for (std::int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    model->train();
    const auto order = torch::randperm(n, ctx.generator(), torch::kInt64);
    double loss_sum = 0;
    for (std::int64_t start = 0; start < n; start += options.batch_size) {
      ++step;
      const double lr = learning_rate(options, step, total);
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      const auto index = order.slice(0, start, std::min(n, start + options.batch_size));
      // Every rank draws the same batch and trains on its shard (one rank: all of it), with the
      // global batch's dropout masks.
      const auto batch = dp.shard(train.index_select(0, index)).to(device);
      const auto [first, last] = dp.shard_range(index.size(0));
      std::optional<DropoutScope> masks;
      if (dp.world_size() > 1) masks.emplace(nullptr, BatchRows{index.size(0), first, last});
      optimizer->zero_grad();
      const auto loss = batch.size(0) > 0 ? lm_loss(model, batch) * dp.loss_weight(index.size(0))
                                          : torch::zeros({}, torch::kFloat32).to(device);
      dp.prepare();
      loss.backward();
      dp.synchronize();
      if (options.max_grad_norm > 0)
        torch::nn::utils::clip_grad_norm_(model->parameters(), options.max_grad_norm);
      optimizer->step();
      const double value = dp.sum({loss.item<double>()})[0];
      if (!std::isfinite(value))
        throw std::runtime_error(
            fmt::format("{}: the loss became {} at epoch {}, step {}", what, value, epoch, step));
      loss_sum += value * double(index.size(0));
      progress->advance(1, fmt::format("epoch {} loss {:.3f}", epoch, value));
    }
    const double train_loss = loss_sum / double(n);
    end_epoch(model, validation, options, ctx, what, epoch, train_loss, on_epoch);
  }
  progress->finish();
  model->eval();
}

ModelState copy_state(const Gpt2& model) {
  ModelState state;
  for (const auto& p : model->named_parameters())
    state.emplace_back(p.key(), p.value().detach().to(torch::kCPU).clone());
  return state;
}

void restore_state(Gpt2& model, const ModelState& state) {
  torch::NoGradGuard no_grad;
  auto params = model->named_parameters();
  if (params.size() != state.size())
    throw std::invalid_argument("a saved GPT-2 state has " + std::to_string(state.size()) +
                                " tensors, the model " + std::to_string(params.size()));
  for (const auto& [name, value] : state) {
    auto* p = params.find(name);
    if (p == nullptr || p->sizes() != value.sizes())
      throw std::invalid_argument("a saved GPT-2 state's tensor '" + name +
                                  "' does not fit the model");
    p->copy_(value);
  }
}

void check_vocabulary(const at::Tensor& blocks, const Gpt2Config& config,
                      const std::string& option) {
  if (blocks.numel() == 0) return;
  const auto max = blocks.max().item<std::int64_t>();
  const auto min = blocks.min().item<std::int64_t>();
  if (min < 0 || max >= config.vocab)
    throw std::invalid_argument("token id " + std::to_string(min < 0 ? min : max) +
                                " is outside the model's vocabulary of " +
                                std::to_string(config.vocab) + " (set " + option +
                                " to the tokenizer's size)");
}

}  // namespace panoramia::gpt2
