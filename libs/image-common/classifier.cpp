#include "classifier.hpp"

#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

namespace panoramia::image {

at::Tensor per_example_loss(const at::Tensor& logits, const at::Tensor& labels) {
  return torch::nn::functional::cross_entropy(
             logits.to(torch::kFloat32), labels.to(logits.device()).to(torch::kInt64),
             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
      .to(torch::kFloat32);
}

double accuracy(const at::Tensor& logits, const at::Tensor& labels) {
  if (logits.size(0) == 0) return 0.0;
  return logits.argmax(1).eq(labels.to(logits.device())).to(torch::kFloat64).mean().item<double>();
}

at::Tensor predict_logits(ImageClassifierImpl& net, const Normalization& normalization,
                          const at::Tensor& x, c10::Device device, std::int64_t batch_size) {
  torch::NoGradGuard guard;
  net.eval();
  std::vector<at::Tensor> out;
  for (std::int64_t i = 0; i < x.size(0); i += batch_size) {
    const auto xb = x.slice(0, i, std::min(x.size(0), i + batch_size)).to(device, torch::kFloat32);
    out.push_back(net.forward(normalization.apply(xb)).to(torch::kCPU, torch::kFloat32));
  }
  if (out.empty()) return torch::empty({0, 0}, torch::kFloat32);
  return torch::cat(out, 0);
}

ClassifierRun train_classifier(ImageClassifierImpl& net, const Normalization& normalization,
                               const Batch& train, const Batch& validation,
                               const ClassifierRecipe& recipe, Context& ctx,
                               const std::string& what) {
  if (train.size() == 0) throw std::invalid_argument("the training set is empty");
  if (recipe.epochs <= 0 || recipe.batch_size <= 0)
    throw std::invalid_argument("options epochs and batch_size must be positive");
  const auto device = ctx.device();
  auto optimizer = make_optimizer(net.parameters(), recipe.optimizer);
  const std::int64_t n = train.size();
  ClassifierRun run;
  run.best_validation_accuracy = -1;
  auto progress = ctx.progress(what, recipe.epochs);
  DropoutScope dropout_draws(&ctx.generator());
  DataParallel dp(ctx.communicator(), net);
  for (std::int64_t epoch = 0; epoch < recipe.epochs; ++epoch) {
    set_learning_rate(*optimizer, recipe.optimizer.lr_at(epoch, recipe.epochs));
    net.train();
    const auto order = torch::randperm(n, ctx.generator(), torch::kInt64);
    double total_loss = 0, correct = 0;
    for (std::int64_t i = 0; i < n; i += recipe.batch_size) {
      const auto idx = order.slice(0, i, std::min(n, i + recipe.batch_size));
      // The global batch is augmented with the same draws on every rank; each trains on its shard.
      auto xb = dp.shard(augment(train.x.index_select(0, idx), recipe.augment, ctx.generator()));
      xb = normalization.apply(xb.to(device, torch::kFloat32));
      const auto yb = dp.shard(train.y.index_select(0, idx)).to(device);
      const auto [first, last] = dp.shard_range(idx.size(0));
      dropout_draws.set_rows({idx.size(0), first, last});  // masks drawn for the global batch
      optimizer->zero_grad();
      const auto logits = net.forward(xb);
      at::Tensor loss;
      if (dp.world_size() == 1) {
        loss = torch::nn::functional::cross_entropy(logits, yb);
        total_loss += loss.item<double>() * double(yb.size(0));
      } else {
        // This rank's share of the global batch's mean loss (an empty shard contributes zero).
        const auto losses = per_example_loss(logits, yb);
        loss = yb.size(0) > 0 ? losses.mean() * dp.loss_weight(idx.size(0)) : losses.sum();
        total_loss += losses.detach().sum().item<double>();
      }
      dp.prepare();
      loss.backward();
      dp.synchronize();
      optimizer->step();
      correct += logits.detach().argmax(1).eq(yb).sum().item<double>();
    }
    const auto sums = dp.sum({total_loss, correct});
    total_loss = sums[0];
    correct = sums[1];
    run.final_train_loss = total_loss / double(n);
    run.final_train_accuracy = correct / double(n);
    end_epoch(net, normalization, validation, recipe, epoch, device, run, *progress);
  }
  progress->finish();
  finish_run(net, validation, recipe, run);
  return run;
}

void end_epoch(ImageClassifierImpl& net, const Normalization& normalization,
               const Batch& validation, const ClassifierRecipe& recipe, std::int64_t epoch,
               c10::Device device, ClassifierRun& run, Progress& progress) {
  std::string status =
      fmt::format("loss {:.4f} acc {:.3f}", run.final_train_loss, run.final_train_accuracy);
  const bool last = epoch + 1 == recipe.epochs;
  if (validation.size() > 0 &&
      ((epoch + 1) % std::max<std::int64_t>(1, recipe.eval_every) == 0 || last)) {
    const double acc =
        accuracy(predict_logits(net, normalization, validation.x, device), validation.y);
    status += fmt::format(" val acc {:.3f}", acc);
    if (acc > run.best_validation_accuracy) {
      run.best_validation_accuracy = acc;
      run.best_epoch = epoch + 1;
      run.best = copy_state(net);
    }
  }
  progress.advance(1, status);
}

void finish_run(ImageClassifierImpl& net, const Batch& validation, const ClassifierRecipe& recipe,
                ClassifierRun& run) {
  run.final = copy_state(net);
  if (validation.size() == 0) {
    run.best = run.final;
    run.best_epoch = recipe.epochs;
  }
}

}  // namespace panoramia::image
