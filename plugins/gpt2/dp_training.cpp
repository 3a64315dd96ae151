#include "dp_training.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include <dp/dp_sgd.hpp>
#include <panoramia/data_parallel.hpp>
#include <panoramia/flops.hpp>

namespace panoramia::gpt2 {

dp::ClippedGradients clip_blocks(Gpt2& model, const std::vector<at::Tensor>& params,
                                 const at::Tensor& blocks, double clip_norm) {
  const dp::ExampleLoss block_loss = [&](const at::Tensor& block, const at::Tensor&) {
    return lm_loss(model, block).reshape({1});
  };
  return dp::clip_per_example(params, block_loss, blocks, at::Tensor(), clip_norm);
}

void train_lm_dp(Gpt2& model, const at::Tensor& train, const at::Tensor& validation,
                 const TrainOptions& options, const dp::DpOptions& dp_options, Context& ctx,
                 const std::string& what, dp::DpReport& report, const EpochCallback& on_epoch) {
  if (train.dim() != 2 || train.size(0) == 0 || train.size(1) < 2)
    throw std::invalid_argument("training needs token blocks [n, T] with n > 0 and T > 1");
  if (options.batch_size <= 0 || options.epochs < 0)
    throw std::invalid_argument("batch_size must be positive and epochs not negative");
  if (dp_options.clipping != "loop")
    throw std::invalid_argument("option dp_clipping = " + dp_options.clipping +
                                " is not supported by the gpt2 target (its layers are not "
                                "recorded for vectorised clipping); set dp_clipping = loop");
  dp::reject_batch_norm(*model, "the gpt2 target");
  const auto device = model_device(model);
  std::vector<at::Tensor> params;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);

  const std::int64_t n = train.size(0);
  const auto o = dp::plan(n, options.batch_size, options.epochs, dp_options.noise_multiplier,
                          dp_options.clip_norm, dp_options.target_epsilon, dp_options.delta);
  dp::DpSgd dp_sgd(params, o);
  const double q = dp_sgd.sample_rate();
  const std::int64_t steps_per_epoch = dp_sgd.steps_per_epoch();
  const std::int64_t total = steps_per_epoch * options.epochs;
  auto optimizer = make_adamw(model, options);
  ctx.logger()->info(
      "{}: DP-SGD with noise multiplier {:.4f}{}, clip norm {}, sampling rate {:.6f} (expected "
      "batch {} of {}), {} steps per epoch, loop clipping",
      what, o.noise_multiplier,
      dp_options.target_epsilon > 0 ? " (solved for the target epsilon)" : "", o.clip_norm, q,
      o.expected_batch, n, steps_per_epoch);

  // Per-example gradients, one example (a block of train.size(1) tokens) at a time.
  ctx.loop_threads(what, dense_training_flops(*model, train.size(1)));
  auto progress = ctx.progress(what, total);
  std::int64_t step = 0;
  for (std::int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    model->train();
    double loss_sum = 0;
    std::int64_t seen = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      ++step;
      const double lr = learning_rate(options, step, total);
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      // Every rank draws the same Poisson batch and clips its share of the blocks.
      const auto batch = dp_sgd.sample(ctx.generator());
      const auto [first, last] = shard_range(batch.size(0), ctx.communicator());
      const auto idx = batch.slice(0, first, last);
      dp::ClippedGradients clipped;
      for (const auto& p : params) clipped.sum.push_back(torch::zeros_like(p));
      const std::int64_t chunk =
          dp_options.physical_batch > 0 ? dp_options.physical_batch : idx.size(0);
      for (std::int64_t i = 0; i < idx.size(0); i += chunk) {
        const auto part = idx.slice(0, i, std::min(idx.size(0), i + chunk));
        const auto blocks = train.index_select(0, part).to(device);
        auto r = clip_blocks(model, params, blocks, o.clip_norm);
        for (size_t k = 0; k < params.size(); ++k) clipped.sum[k].add_(r.sum[k]);
        loss_sum += r.losses.sum().item<double>();
      }
      seen += batch.size(0);
      // An empty Poisson batch is still a step: the update is pure noise.
      dp_sgd.privatize(clipped, ctx.generator(), ctx.communicator());
      optimizer->step();
      if (!std::isfinite(loss_sum))
        throw std::runtime_error(fmt::format("{}: the loss became {} at epoch {}, step {}", what,
                                             loss_sum, epoch, step));
      progress->advance(1, fmt::format("epoch {} step {}", epoch, step));
    }
    loss_sum = sum_over_ranks(ctx.communicator(), {loss_sum})[0];
    const double train_loss = seen > 0 ? loss_sum / double(seen) : 0.0;
    end_epoch(model, validation, options, ctx, what, epoch, train_loss, on_epoch);
  }
  progress->finish();
  model->eval();

  report = dp::DpReport{};
  dp::record_spent(dp_sgd, dp_options.delta, dp_options.target_epsilon, report);
  report.optimizer = "adamw";
  report.lr = options.lr;
  report.clipping = dp_options.clipping;
  report.norm = "layer";
  ctx.logger()->info(
      "{}: DP-SGD spent epsilon = {:.4f} at delta = {:g} over {} steps (RDP order {})", what,
      report.epsilon, report.delta, report.steps, report.rdp_order);
}

}  // namespace panoramia::gpt2
