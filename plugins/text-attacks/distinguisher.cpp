#include "distinguisher.hpp"

#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <torch/torch.h>

#include "gpt2_target.hpp"
#include "metrics.hpp"
#include "model_options.hpp"
#include "optim/adam.hpp"
#include "panoramia/data_parallel.hpp"
#include "panoramia/flops.hpp"
#include "training.hpp"

namespace panoramia::text_attacks {
namespace {

using panoramia::option;
using T = OptionType;

void init_linear(torch::nn::Linear& linear, at::Generator generator) {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(double(linear->weight.size(1)));
  linear->weight.uniform_(-bound, bound, generator);
  linear->bias.uniform_(-bound, bound, generator);
}

}  // namespace

DistinguisherImpl::DistinguisherImpl(gpt2::Gpt2 model, std::int64_t side_features,
                                     std::int64_t hidden) {
  backbone = register_module("backbone", std::move(model));
  text = register_module("text", torch::nn::Linear(backbone->config().width, hidden));
  side_hidden = register_module("side_hidden", torch::nn::Linear(side_features, hidden));
  w_text = register_parameter("w_text", torch::zeros({hidden}));
  w_side = register_parameter("w_side", torch::zeros({hidden}));
  bias = register_parameter("bias", torch::zeros({1}));
}

void DistinguisherImpl::init_head(at::Generator generator) {
  init_linear(text, generator);
  init_linear(side_hidden, generator);
  torch::NoGradGuard no_grad;
  w_text.zero_();
  w_side.normal_(0, 1, generator);
  const double bound = 1.0 / std::sqrt(double(2 * w_text.size(0)));
  bias.uniform_(-bound, bound, generator);
}

at::Tensor DistinguisherImpl::forward(const at::Tensor& ids, const at::Tensor& side,
                                      bool with_text) {
  auto logit = torch::relu(side_hidden(side)).matmul(w_side) + bias;
  if (with_text) {
    const auto last = backbone->hidden(ids).select(1, -1);  // the last token's final hidden state
    logit = logit + text(last).matmul(w_text);
  }
  return logit;
}

std::vector<OptionSpec> TextDistinguisherAttack::option_specs() {
  auto specs = gpt2::model_option_specs();  // the backbone: `pretrained` is the reference's 'gpt2'
  const std::vector<OptionSpec> more = {
      option("hidden", T::kInt, "0", "width of each branch (0: half the side features, 31 for 63)"),
      option("phase1_steps", T::kInt, "1500", "phase 1 steps (side branch only)").at_least(0),
      option("phase1_lr", T::kDouble, "3e-3", "phase 1 Adam learning rate").above(0),
      option("steps", T::kInt, "6000", "phase 2 steps (everything)"),
      option("lr", T::kDouble, "3e-5", "phase 2 AdamW peak learning rate").above(0),
      option("weight_decay", T::kDouble, "0.01", "phase 2 weight decay (not on biases, LayerNorms)")
          .at_least(0),
      option("warmup_steps", T::kInt, "500", "phase 2 linear warmup, then linear decay to 0"),
      option("batch_size", T::kInt, "64", "samples per step").at_least(1),
      option("eval_batch_size", T::kInt, "64", "samples per batch when scoring").at_least(1),
      option("eval_every", T::kInt, "100", "steps between validation scores (both phases)")
          .at_least(1),
      option("selection", T::kString, "auc",
             "validation metric for the kept state: auc (partial, up to max_fpr), acc or loss",
             {"auc", "acc", "loss"}),
      option("max_fpr", T::kDouble, "0.1", "false positive rate limit of the auc selection")
          .within(0, 1),
      option("validation_fraction", T::kDouble, "0.15",
             "share of each class of the attack-training set held out for model selection (the "
             "reference: 1,000 of 7,000 per class)"),
  };
  specs.insert(specs.end(), more.begin(), more.end());
  return specs;
}

at::Tensor TextDistinguisherAttack::predict(const at::Tensor& ids, const at::Tensor& side,
                                            bool with_text, std::int64_t batch_size,
                                            Communicator& comm) {
  torch::NoGradGuard no_grad;
  net_->eval();
  const auto device = gpt2::model_device(net_->backbone);
  const std::int64_t n = ids.size(0);
  const auto [begin, end] = shard_range(n, comm);  // this rank's rows
  auto out = torch::zeros({n});
  for (std::int64_t start = begin; start < end; start += batch_size) {
    const auto stop = std::min(end, start + batch_size);
    out.slice(0, start, stop)
        .copy_(torch::sigmoid(net_->forward(ids.slice(0, start, stop).to(device),
                                            side.slice(0, start, stop).to(device), with_text))
                   .to(torch::kCPU));
  }
  // Every other rank's rows are zero here: the sum over the ranks assembles all of them.
  std::vector<at::Tensor> all{out};
  comm.all_reduce_sum(all);
  return all[0];
}

namespace {

// Phase 1 trains the side branch, w_side and the bias only.
std::vector<at::Tensor> side_branch_parameters(Distinguisher& net) {
  std::vector<at::Tensor> params = net->side_hidden->parameters();
  params.push_back(net->w_side);
  params.push_back(net->bias);
  return params;
}

// Phase 2 trains everything with AdamW, without weight decay on biases and LayerNorms.
std::unique_ptr<torch::optim::AdamW> phase2_optimizer(Distinguisher& net, double lr,
                                                      double weight_decay) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : net->named_parameters()) {
    const bool skip =
        p.key().find("bias") != std::string::npos || p.key().find("ln_") != std::string::npos;
    (skip ? no_decay : decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(lr).weight_decay(weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(lr).weight_decay(0)));
  return std::make_unique<panoramia::optim::AdamW>(groups, torch::optim::AdamWOptions(lr));
}

// Phase 2's learning rate at step 1..steps: linear warmup to `lr`, then linear decay to 0.
double warmup_then_decay(double lr, std::int64_t step, std::int64_t warmup, std::int64_t steps) {
  if (step <= warmup) return lr * double(step) / double(std::max<std::int64_t>(warmup, 1));
  return lr * std::max(0.0, double(steps - step + 1) /
                                double(std::max<std::int64_t>(steps - warmup, 1)));
}

// Whole shuffled epochs of `rows` row indices, one batch at a time.
class EpochBatches {
 public:
  EpochBatches(std::int64_t rows, std::int64_t batch) : rows_(rows), batch_(batch) {}
  at::Tensor next(at::Generator& generator) {
    if (!order_.defined() || cursor_ >= order_.size(0)) {
      order_ = torch::randperm(rows_, generator, torch::kInt64);
      cursor_ = 0;
    }
    const auto idx = order_.slice(0, cursor_, std::min(order_.size(0), cursor_ + batch_));
    cursor_ += batch_;
    return idx;
  }

 private:
  std::int64_t rows_, batch_;
  at::Tensor order_;
  std::int64_t cursor_ = 0;
};

// Token ids, side features and membership labels of some rows.
struct Rows {
  at::Tensor ids, side, y;
  Rows select(const at::Tensor& idx) const {
    return {ids.index_select(0, idx), side.index_select(0, idx), y.index_select(0, idx)};
  }
};

}  // namespace

void TextDistinguisherAttack::fit(const AttackData& train, const at::Tensor& is_member,
                                  Context& ctx) {
  const auto& o = ctx.options();
  gpt2::check_text_batch(train.samples, "the text-distinguisher's samples");
  if (!train.features.defined() || train.features.dim() != 2 ||
      train.features.size(0) != train.samples.size())
    throw std::invalid_argument(
        "the text-distinguisher needs side features [n, d] aligned with "
        "the samples (featurizer text)");
  const Rows all{train.samples.x, train.features.to(torch::kFloat32),
                 is_member.to(torch::kFloat32).reshape({-1})};
  const auto ids = all.ids;
  auto [train_idx, val_idx] =
      stratified_split(all.y, o.get_double("validation_fraction"), ctx.generator());
  const Rows fitted = all.select(train_idx), validation = all.select(val_idx);
  const auto& yv = validation.y;
  const bool has_val = yv.size(0) > 0 && yv.min().item<float>() != yv.max().item<float>();

  auto backbone = gpt2::make_model(o, ctx);
  gpt2::check_vocabulary(ids, backbone->config(), "vocab_size");
  const auto d = all.side.size(1);
  const auto hidden =
      o.get_int("hidden") > 0 ? o.get_int("hidden") : std::max<std::int64_t>(1, d / 2);
  net_ = Distinguisher(backbone, d, hidden);
  net_->init_head(ctx.generator());
  net_->to(ctx.device());
  const auto device = ctx.device();

  const auto batch = o.get_int("batch_size"), eval_batch = o.get_int("eval_batch_size");
  const auto eval_every = std::max<std::int64_t>(1, o.get_int("eval_every"));
  const auto phase1_steps = o.get_int("phase1_steps"), steps = o.get_int("steps");
  const auto warmup = o.get_int("warmup_steps");
  const double lr = o.get_double("lr");
  const std::string selection = o.get_string("selection");
  const double max_fpr = o.get_double("max_fpr");
  double best = -std::numeric_limits<double>::infinity();
  std::string best_at = "the start";
  State best_state = copy_params(*net_);
  ctx.loop_threads(
      "training the text-distinguisher",
      dense_training_flops(
          *net_, std::max<std::int64_t>(1, batch / ctx.communicator().world_size()) * ids.size(1)));
  auto progress = ctx.progress("training the text-distinguisher", phase1_steps + steps);
  // Every rank draws the same batches and trains on its share of each; gradients are summed.
  DataParallel dp(ctx.communicator(), *net_);
  auto& comm = ctx.communicator();

  EpochBatches batches(fitted.ids.size(0), batch);
  const auto run_phase = [&](torch::optim::Optimizer& optimizer, std::int64_t count, bool with_text,
                             const std::function<double(std::int64_t)>& lr_at, const char* phase) {
    for (std::int64_t step = 1; step <= count; ++step) {
      net_->train();
      if (lr_at)
        for (auto& group : optimizer.param_groups()) group.options().set_lr(lr_at(step));
      const auto idx = batches.next(ctx.generator());
      const auto rows = dp.shard(idx);
      const auto [first, last] = dp.shard_range(idx.size(0));
      std::optional<DropoutScope> masks;  // the global batch's dropout masks
      if (dp.world_size() > 1) masks.emplace(nullptr, BatchRows{idx.size(0), first, last});
      optimizer.zero_grad();
      const Rows b = fitted.select(rows);
      const auto logits = net_->forward(b.ids.to(device), b.side.to(device), with_text);
      const auto losses = torch::binary_cross_entropy_with_logits(logits, b.y.to(device), {}, {},
                                                                  at::Reduction::None);
      // This rank's share of the global batch's mean loss (an empty share contributes zero).
      const auto loss =
          rows.size(0) > 0 ? losses.mean() * dp.loss_weight(idx.size(0)) : losses.sum();
      dp.prepare();
      loss.backward();
      dp.synchronize();
      optimizer.step();
      if (has_val && (step % eval_every == 0 || step == count)) {
        const double metric = selection_metric(
            selection, predict(validation.ids, validation.side, with_text, eval_batch, comm), yv,
            max_fpr);
        if (metric > best) {
          best = metric;
          best_at = fmt::format("{} step {}", phase, step);
          best_state = copy_params(*net_);
        }
      }
      progress->advance(1, fmt::format("{} loss {:.3f}", phase, dp.sum({loss.item<double>()})[0]));
    }
  };

  // Phase 1: the side branch alone.
  panoramia::optim::Adam phase1(side_branch_parameters(net_),
                                torch::optim::AdamOptions(o.get_double("phase1_lr")));
  run_phase(phase1, phase1_steps, false, {}, "phase 1");

  // Phase 2: w_text redrawn, then everything with AdamW, warmup and linear decay.
  {
    torch::NoGradGuard no_grad;
    net_->w_text.normal_(0, 1, ctx.generator());
  }
  const auto phase2 = phase2_optimizer(net_, lr, o.get_double("weight_decay"));
  run_phase(
      *phase2, steps, true,
      [&](std::int64_t step) { return warmup_then_decay(lr, step, warmup, steps); }, "phase 2");
  progress->finish();

  if (has_val) restore_params(*net_, best_state);
  ctx.logger()->info(
      "text-distinguisher: kept the state at {} (validation {} {:.4f}); {} side "
      "features, branches of {}",
      has_val ? best_at : std::string("the end (no validation split)"), selection,
      selection == "loss" ? -best : best, d, hidden);
}

at::Tensor TextDistinguisherAttack::score(const AttackData& data, Context& ctx) {
  if (!net_) throw std::logic_error("score() before fit()");
  gpt2::check_text_batch(data.samples, "the text-distinguisher's samples");
  return predict(data.samples.x, data.features.to(torch::kFloat32), true,
                 ctx.options().get_int("eval_batch_size"), ctx.communicator())
      .to(torch::kFloat32);
}

}  // namespace panoramia::text_attacks
