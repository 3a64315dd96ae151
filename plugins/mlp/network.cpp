#include "network.hpp"

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>
#include <panoramia/flops.hpp>

#include "optim/adam.hpp"

namespace panoramia::mlp {
namespace {
constexpr int64_t kEvalBatch = 4096;
}

MlpImpl::MlpImpl(const MlpOptions& options) : options_(options) {
  if (options.inputs <= 0 || options.outputs <= 0)
    throw std::invalid_argument("an MLP needs positive input and output sizes");
  torch::nn::Sequential seq;
  int64_t width = options.inputs;
  for (const int64_t h : options.hidden) {
    if (h <= 0) throw std::invalid_argument("hidden layer sizes must be positive");
    seq->push_back(torch::nn::Linear(width, h));
    seq->push_back(torch::nn::ReLU());
    if (options.dropout > 0) seq->push_back(torch::nn::Dropout(options.dropout));
    width = h;
  }
  seq->push_back(torch::nn::Linear(width, options.outputs));
  layers_ = register_module("layers", seq);
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto out = layers_->forward(x);
  return options_.outputs == 1 ? out.squeeze(1) : out;
}

torch::Tensor per_example_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() == 1)
    return torch::binary_cross_entropy_with_logits(logits, labels.to(torch::kFloat32), {}, {},
                                                   at::Reduction::None);
  return torch::nn::functional::cross_entropy(
      logits, labels.to(torch::kInt64),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}

State copy_state(torch::nn::Module& module) {
  State state;
  torch::NoGradGuard guard;
  for (const auto& p : module.parameters()) state.push_back(p.detach().clone());
  for (const auto& b : module.buffers()) state.push_back(b.detach().clone());
  return state;
}

void restore_state(torch::nn::Module& module, const State& state) {
  torch::NoGradGuard guard;
  size_t i = 0;
  for (auto& p : module.parameters()) p.copy_(state.at(i++));
  for (auto& b : module.buffers()) b.copy_(state.at(i++));
}

torch::Tensor predict_logits(Mlp& net, const torch::Tensor& x) {
  torch::NoGradGuard guard;
  net->eval();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < x.size(0); i += kEvalBatch)
    out.push_back(net->forward(x.slice(0, i, std::min(x.size(0), i + kEvalBatch))));
  if (out.empty()) return net->forward(x);
  return torch::cat(out, 0);
}

double evaluate_loss(Mlp& net, const torch::Tensor& x, const torch::Tensor& y) {
  if (!x.defined() || x.size(0) == 0) return 0.0;
  return per_example_loss(predict_logits(net, x), y).mean().item<double>();
}

TrainResult train_epochs(Mlp& net, const EpochFn& epoch_fn, const torch::Tensor& x_val,
                         const torch::Tensor& y_val, const TrainOptions& options, Context& ctx,
                         const std::string& what) {
  if (options.epochs <= 0) throw std::invalid_argument("epochs must be positive");
  const bool has_validation = x_val.defined() && x_val.size(0) > 0;
  TrainResult result;
  result.best_validation_loss = std::numeric_limits<double>::infinity();
  int64_t since_best = 0;
  auto progress = ctx.progress(what, options.epochs);
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    net->train();
    result.final_train_loss = epoch_fn(epoch);
    std::string status = "train loss " + std::to_string(result.final_train_loss).substr(0, 6);
    if (has_validation) {
      const double val = evaluate_loss(net, x_val, y_val);
      status += " val loss " + std::to_string(val).substr(0, 6);
      if (val < result.best_validation_loss) {
        result.best_validation_loss = val;
        result.best_epoch = epoch;
        result.best = copy_state(*net);
        since_best = 0;
      } else if (options.patience > 0 && ++since_best >= options.patience) {
        progress->advance(1, status + " (early stop)");
        break;
      }
    }
    progress->advance(1, status);
  }
  progress->finish();
  if (!has_validation) {
    result.best = copy_state(*net);
    result.best_epoch = options.epochs;
    result.best_validation_loss = result.final_train_loss;
  }
  return result;
}

TrainResult train(Mlp& net, const torch::Tensor& x, const torch::Tensor& y,
                  const torch::Tensor& x_val, const torch::Tensor& y_val,
                  const TrainOptions& options, Context& ctx, const std::string& what) {
  if (x.size(0) == 0) throw std::invalid_argument("no training samples");
  if (options.batch_size <= 0 || options.epochs <= 0)
    throw std::invalid_argument("epochs and batch_size must be positive");
  // A rank trains on its shard of each global batch.
  ctx.loop_threads(
      what, dense_training_flops(
                *net, std::max<int64_t>(1, options.batch_size / ctx.communicator().world_size())));
  panoramia::optim::Adam optimizer(
      net->parameters(), torch::optim::AdamOptions(options.lr).weight_decay(options.weight_decay));
  const int64_t n = x.size(0);
  // Data-parallel over the audit's ranks: every rank draws the same global batches and trains on
  // its shard of each (one rank: the whole batch).
  DataParallel dp(ctx.communicator(), *net);
  const auto epoch = [&](int64_t) {
    const auto order = torch::randperm(n, ctx.generator(), torch::kInt64);
    double total = 0;
    for (int64_t i = 0; i < n; i += options.batch_size) {
      const auto idx = dp.shard(order.slice(0, i, std::min(n, i + options.batch_size)));
      const int64_t global = std::min(n, i + options.batch_size) - i;
      const auto xb = x.index_select(0, idx);
      const auto yb = y.index_select(0, idx);
      optimizer.zero_grad();
      const auto losses = per_example_loss(net->forward(xb), yb);
      const auto loss = idx.size(0) > 0 ? losses.mean() * dp.loss_weight(global) : losses.sum();
      dp.prepare();
      loss.backward();
      dp.synchronize();
      optimizer.step();
      total += losses.detach().sum().item<double>();
    }
    return dp.sum({total})[0] / n;
  };
  return train_epochs(net, epoch, x_val, y_val, options, ctx, what);
}

}  // namespace panoramia::mlp
