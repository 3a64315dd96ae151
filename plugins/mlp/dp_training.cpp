#include "dp_training.hpp"

#include <torch/torch.h>

#include <dp/dp_options.hpp>
#include <dp/dp_sgd.hpp>
#include <panoramia/data_parallel.hpp>
#include <panoramia/flops.hpp>

namespace panoramia::mlp {
std::vector<OptionSpec> dp_options() {
  using T = OptionType;
  std::vector<OptionSpec> specs{
      option("dp", T::kBool, "false",
             "train with DP-SGD (Poisson batches of expected size batch_size, per-example "
             "clipping, Gaussian noise); lr, weight_decay are then replaced by dp_lr")};
  for (auto& spec : dp::accountant_options()) specs.push_back(std::move(spec));
  specs.push_back(option("dp_optimizer", T::kString, "sgd", "optimizer on the privatised gradients",
                         {"sgd", "adam"}));
  specs.push_back(option("dp_lr", T::kDouble, "0.1", "learning rate of dp_optimizer").above(0));
  return specs;
}

DpTrainOptions dp_train_options(const OptionValues& v, const TrainOptions& base) {
  DpTrainOptions o;
  o.base = base;
  o.noise_multiplier = v.get_double("noise_multiplier");
  o.clip_norm = v.get_double("clip_norm");
  o.target_epsilon = v.get_double("target_epsilon");
  o.delta = v.get_double("delta");
  o.optimizer = v.get_string("dp_optimizer");
  o.lr = v.get_double("dp_lr");
  return o;
}

TrainResult train_dp(Mlp& net, const torch::Tensor& x, const torch::Tensor& y,
                     const torch::Tensor& x_val, const torch::Tensor& y_val,
                     const DpTrainOptions& options, Context& ctx, DpReport& report) {
  const int64_t n = x.size(0);
  if (n == 0) throw std::invalid_argument("no training samples");
  if (options.base.batch_size <= 0 || options.base.epochs <= 0)
    throw std::invalid_argument("epochs and batch_size must be positive");
  if (options.target_epsilon < 0)
    throw std::invalid_argument("option target_epsilon must be >= 0, got " +
                                std::to_string(options.target_epsilon));
  dp::reject_batch_norm(*net, "the mlp target");
  auto& stack = net->layers();
  if (!dp::is_linear_stack(stack))
    throw std::logic_error("the mlp's layer stack is not made of Linear layers");

  const auto o = dp::plan(n, options.base.batch_size, options.base.epochs, options.noise_multiplier,
                          options.clip_norm, options.target_epsilon, options.delta);
  // Per-example gradients of a Linear stack cost what the batch's gradients cost.
  ctx.loop_threads("training the mlp (DP)", dense_training_flops(*net, options.base.batch_size));
  const auto params = stack->parameters();
  dp::DpSgd dp_sgd(params, o);
  const double q = dp_sgd.sample_rate();
  const int64_t steps_per_epoch = dp_sgd.steps_per_epoch();
  auto optimizer = dp::make_optimizer(options.optimizer, params, options.lr);
  ctx.logger()->info(
      "mlp: DP-SGD with noise multiplier {:.4f}{}, clip norm {}, sampling rate {:.6f} "
      "(expected batch {} of {}), {} steps per epoch, {} {} lr {}",
      o.noise_multiplier, options.target_epsilon > 0 ? " (solved for the target epsilon)" : "",
      o.clip_norm, q, o.expected_batch, n, steps_per_epoch, options.optimizer, "optimizer",
      options.lr);

  const dp::OutputLoss loss = [](const torch::Tensor& out, const torch::Tensor& labels) {
    return per_example_loss(out.size(1) == 1 ? out.squeeze(1) : out, labels);
  };
  auto& comm = ctx.communicator();
  const auto epoch = [&](int64_t) {
    double total = 0;
    int64_t seen = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      // Every rank draws the same Poisson batch and clips its share of the examples.
      const auto batch = dp_sgd.sample(ctx.generator());
      const auto [first, last] = shard_range(batch.size(0), comm);
      const auto idx = batch.slice(0, first, last);
      dp::ClippedGradients clipped;
      if (idx.size(0) == 0) {
        // An empty Poisson batch is still a step: the update is pure noise.
        for (const auto& p : params) clipped.sum.push_back(torch::zeros_like(p));
      } else {
        const auto yb = y.index_select(0, idx);
        clipped = dp::clip_per_example_linear(stack, loss, x.index_select(0, idx), yb, o.clip_norm);
      }
      dp_sgd.privatize(clipped, ctx.generator(), comm);
      optimizer->step();
      seen += batch.size(0);
      if (idx.size(0) > 0) total += clipped.losses.sum().item<double>();
    }
    total = sum_over_ranks(comm, {total})[0];
    return seen > 0 ? total / double(seen) : 0.0;
  };
  auto result = train_epochs(net, epoch, x_val, y_val, options.base, ctx, "training the mlp (DP)");

  dp::record_spent(dp_sgd, options.delta, options.target_epsilon, report);
  report.optimizer = options.optimizer;
  report.lr = options.lr;
  report.clipping = "vectorized";  // per-example gradients of the Linear stack
  report.norm = "none";
  ctx.logger()->info(
      "mlp: DP-SGD spent epsilon = {:.4f} at delta = {:g} over {} steps (RDP order {})",
      report.epsilon, report.delta, report.steps, report.rdp_order);
  return result;
}

}  // namespace panoramia::mlp
