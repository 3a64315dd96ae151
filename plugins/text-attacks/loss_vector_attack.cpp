#include "loss_vector_attack.hpp"

#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>
#include <panoramia/flops.hpp>

#include "metrics.hpp"
#include "model_options.hpp"
#include "optim/adam.hpp"

namespace panoramia::text_attacks {
namespace {

using panoramia::option;
using T = OptionType;

at::Tensor predict(torch::nn::Sequential& net, const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  net->eval();
  return torch::sigmoid(net->forward(x).reshape({-1}));
}

}  // namespace

std::vector<OptionSpec> LossVectorAttack::option_specs() {
  return {
      option("hidden", T::kIntList, "64,32", "hidden layer sizes").at_least(1),
      option("epochs", T::kInt, "100", "maximum training epochs").at_least(0),
      option("batch_size", T::kInt, "64", "samples per step").at_least(1),
      option("lr", T::kDouble, "1e-3", "Adam learning rate").above(0),
      option("weight_decay", T::kDouble, "0", "Adam weight decay").at_least(0),
      option("dropout", T::kDouble, "0.1", "dropout after each hidden layer").within_below(0, 1),
      option("patience", T::kInt, "15",
             "stop after this many epochs without improvement (0: never)")
          .at_least(0),
      option("validation_fraction", T::kDouble, "0.2",
             "share of each class held out for model selection"),
      option("selection", T::kString, "loss", "validation metric: loss, auc or acc",
             {"loss", "auc", "acc"}),
      option("max_fpr", T::kDouble, "1.0", "false positive rate limit of the auc selection")
          .within(0, 1),
      option("log_losses", T::kBool, "false", "use log(1e-4 + feature) (losses are >= 0)")};
}

at::Tensor LossVectorAttack::prepare(const AttackData& data) const {
  if (!data.features.defined() || data.features.dim() != 2 ||
      data.features.size(0) != data.samples.size())
    throw std::invalid_argument(
        "the loss-vector attack needs features [n, d] aligned with the samples");
  auto x = data.features.to(torch::kFloat32);
  if (log_) x = torch::log(x.clamp_min(0) + 1e-4);
  return x;
}

void LossVectorAttack::fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) {
  const auto& o = ctx.options();
  log_ = o.get_bool("log_losses");
  auto x = prepare(train);
  const auto y = is_member.to(torch::kFloat32).reshape({-1});
  mean_ = x.mean(0);
  std_ = x.std(0).clamp_min(1e-6);
  x = (x - mean_) / std_;
  auto [train_idx, val_idx] =
      stratified_split(y, o.get_double("validation_fraction"), ctx.generator());
  const auto xt = x.index_select(0, train_idx), yt = y.index_select(0, train_idx);
  const auto xv = x.index_select(0, val_idx), yv = y.index_select(0, val_idx);

  net_ = torch::nn::Sequential();
  std::int64_t width = x.size(1);
  for (const auto h : o.get_int_list("hidden")) {
    net_->push_back(torch::nn::Linear(width, h));
    net_->push_back(torch::nn::ReLU());
    net_->push_back(torch::nn::Dropout(o.get_double("dropout")));
    width = h;
  }
  net_->push_back(torch::nn::Linear(width, 1));
  {  // seeded initialisation (LibTorch's defaults draw from the global generator)
    torch::NoGradGuard no_grad;
    for (auto& module : net_->modules(/*include_self=*/false))
      if (auto* linear = module->as<torch::nn::LinearImpl>()) {
        const double bound = 1.0 / std::sqrt(double(linear->weight.size(1)));
        linear->weight.uniform_(-bound, bound, ctx.generator());
        linear->bias.uniform_(-bound, bound, ctx.generator());
      }
  }
  panoramia::optim::Adam optimizer(
      net_->parameters(),
      torch::optim::AdamOptions(o.get_double("lr")).weight_decay(o.get_double("weight_decay")));
  const auto epochs = o.get_int("epochs"), batch = o.get_int("batch_size"),
             patience = o.get_int("patience");
  const std::string selection = o.get_string("selection");
  const double max_fpr = o.get_double("max_fpr");
  const bool has_val = xv.size(0) > 0 && yv.min().item<float>() != yv.max().item<float>();
  double best = -std::numeric_limits<double>::infinity();
  std::int64_t best_epoch = 0;
  State best_state = copy_params(*net_);
  ctx.loop_threads("training the loss-vector attack",
                   dense_training_flops(
                       *net_, std::max<std::int64_t>(1, batch / ctx.communicator().world_size())));
  auto progress = ctx.progress("training the loss-vector attack", epochs);
  DataParallel dp(ctx.communicator(), *net_);
  for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
    net_->train();
    const auto order = torch::randperm(xt.size(0), ctx.generator(), torch::kInt64);
    for (std::int64_t start = 0; start < xt.size(0); start += batch) {
      const auto global = order.slice(0, start, std::min(xt.size(0), start + batch));
      const auto idx = dp.shard(global);  // every rank draws the same batch, trains its shard
      optimizer.zero_grad();
      const auto losses = torch::binary_cross_entropy_with_logits(
          net_->forward(xt.index_select(0, idx)).reshape({-1}), yt.index_select(0, idx), {}, {},
          at::Reduction::None);
      const auto loss =
          idx.size(0) > 0 ? losses.mean() * dp.loss_weight(global.size(0)) : losses.sum();
      dp.prepare();
      loss.backward();
      dp.synchronize();
      optimizer.step();
    }
    const double metric = has_val ? selection_metric(selection, predict(net_, xv), yv, max_fpr)
                                  : selection_metric("loss", predict(net_, xt), yt, 1.0);
    if (metric > best) {
      best = metric;
      best_epoch = epoch;
      best_state = copy_params(*net_);
    }
    progress->advance(1, fmt::format("{} {:.4f}", selection, metric));
    if (patience > 0 && epoch - best_epoch >= patience) break;
  }
  progress->finish();
  restore_params(*net_, best_state);
  ctx.logger()->info("loss-vector attack: kept epoch {} (validation {} {:.4f}) of {} features",
                     best_epoch, has_val ? selection : "train loss",
                     has_val && selection == "loss" ? -best : best, x.size(1));
}

at::Tensor LossVectorAttack::score(const AttackData& data, Context&) {
  if (!net_) throw std::logic_error("score() before fit()");
  return predict(net_, (prepare(data) - mean_) / std_).to(torch::kFloat32);
}

}  // namespace panoramia::text_attacks
