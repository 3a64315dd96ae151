#include "dp_classifier.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include <torch/nn/modules/normalization.h>
#include <dp/dp_sgd.hpp>
#include <dp/layer_tape.hpp>
#include <panoramia/data_parallel.hpp>

#include "augment.hpp"
#include "image_batch.hpp"
#include "optimizer.hpp"

namespace panoramia::image {
namespace {

// Clipped gradients of one physical batch, and how many of its examples were classified right.
struct ChunkResult {
  dp::ClippedGradients clipped;
  double correct = 0;
};

ChunkResult clip_chunk(ImageClassifierImpl& net, const std::vector<torch::Tensor>& params,
                       const torch::Tensor& x, const torch::Tensor& y, const DpOptions& options,
                       const TapedForward& taped) {
  ChunkResult r;
  if (options.clipping == "loop") {
    const dp::ExampleLoss loss = [&](const torch::Tensor& xi, const torch::Tensor& yi) {
      const auto logits = net.forward(xi);
      r.correct += logits.detach().argmax(1).eq(yi).sum().item<double>();
      return per_example_loss(logits, yi);
    };
    r.clipped = dp::clip_per_example(params, loss, x, y, options.clip_norm);
    return r;
  }
  dp::LayerTape tape;
  const auto logits = taped(x, tape);
  r.correct = logits.detach().argmax(1).eq(y).sum().item<double>();
  r.clipped =
      dp::clip_per_example_tape(params, tape, per_example_loss(logits, y), options.clip_norm);
  return r;
}

// The kinds of normalisation layers in `net` ("group", "layer", "group+layer"; "none").
std::string norm_kinds(const torch::nn::Module& net) {
  bool group = false, layer = false;
  for (const auto& m : net.modules()) {
    group = group || m->as<torch::nn::GroupNormImpl>() != nullptr;
    layer = layer || m->as<torch::nn::LayerNormImpl>() != nullptr;
  }
  if (group && layer) return "group+layer";
  return group ? "group" : layer ? "layer" : "none";
}

// Frozen parameters (a fine-tuned backbone) take no gradient, clipping or noise.
std::vector<torch::Tensor> trainable_parameters(ImageClassifierImpl& net, const std::string& what) {
  std::vector<torch::Tensor> params;
  for (const auto& p : net.parameters())
    if (p.requires_grad()) params.push_back(p);
  if (params.empty()) throw std::invalid_argument("the " + what + " has no trainable parameters");
  return params;
}

// The clipped gradients' sum over the Poisson batch `idx`, clipped in physical chunks; each
// chunk's loss sum and count of examples classified right are added to `loss` and `correct`. With
// `split`, each rank clips its share of every chunk (the dropout masks drawn for the whole chunk).
dp::ClippedGradients clip_batch(ImageClassifierImpl& net, const std::vector<torch::Tensor>& params,
                                const Normalization& normalization, const Batch& train,
                                const at::Tensor& idx, const ClassifierRecipe& recipe,
                                const DpOptions& options, const TapedForward& taped, bool split,
                                DropoutScope& dropout_draws, Context& ctx, double& loss,
                                double& correct) {
  const auto device = ctx.device();
  auto& comm = ctx.communicator();
  dp::ClippedGradients clipped;
  for (const auto& p : params) clipped.sum.push_back(torch::zeros_like(p));
  const std::int64_t chunk = options.physical_batch > 0 ? options.physical_batch : idx.size(0);
  for (std::int64_t i = 0; i < idx.size(0); i += chunk) {
    const auto part = idx.slice(0, i, std::min(idx.size(0), i + chunk));
    auto xb = augment(train.x.index_select(0, part), recipe.augment, ctx.generator());
    auto yb = train.y.index_select(0, part);
    const auto [first, last] =
        split ? shard_range(part.size(0), comm) : std::make_pair(std::int64_t{0}, part.size(0));
    if (split) dropout_draws.set_rows({part.size(0), first, last});  // masks for the whole chunk
    if (first == last) {
      // This rank's share is empty; the forward pass still draws the chunk's dropout masks so
      // that its generator stays in step with the other ranks.
      torch::NoGradGuard guard;
      net.forward(normalization.apply(xb.slice(0, 0, 0).to(device, torch::kFloat32)));
      continue;
    }
    xb = normalization.apply(xb.slice(0, first, last).to(device, torch::kFloat32));
    yb = yb.slice(0, first, last).to(device);
    auto r = clip_chunk(net, params, xb, yb, options, taped);
    for (size_t k = 0; k < params.size(); ++k) clipped.sum[k].add_(r.clipped.sum[k]);
    loss += r.clipped.losses.sum().item<double>();
    correct += r.correct;
  }
  return clipped;
}

}  // namespace

ClassifierRun train_dp(ImageClassifierImpl& net, const Normalization& normalization,
                       const Batch& train, const Batch& validation, const ClassifierRecipe& recipe,
                       const DpOptions& options, Context& ctx, DpReport& report,
                       const std::string& what, const TapedForward& taped) {
  const std::int64_t n = train.size();
  if (n == 0) throw std::invalid_argument("the training set is empty");
  if (recipe.epochs <= 0 || recipe.batch_size <= 0)
    throw std::invalid_argument("options epochs and batch_size must be positive");
  if (options.clipping != "loop" && !taped)
    throw std::invalid_argument(
        "option dp_clipping = " + options.clipping + " is not supported by the " + what +
        " target (its layers are not recorded for vectorised clipping); set dp_clipping = loop");
  dp::reject_batch_norm(net, "the " + what + " target");
  const auto device = ctx.device();
  const std::vector<torch::Tensor> params = trainable_parameters(net, what);

  const auto o = dp::plan(n, recipe.batch_size, recipe.epochs, options.noise_multiplier,
                          options.clip_norm, options.target_epsilon, options.delta);
  dp::DpSgd dp_sgd(params, o);
  const double q = dp_sgd.sample_rate();
  const std::int64_t steps_per_epoch = dp_sgd.steps_per_epoch();
  auto optimizer = make_optimizer(params, recipe.optimizer);
  ctx.logger()->info(
      "{}: DP-SGD with noise multiplier {:.4f}{}, clip norm {}, sampling rate {:.6f} (expected "
      "batch {} of {}), {} steps per epoch, {} clipping, {} lr {}",
      what, o.noise_multiplier,
      options.target_epsilon > 0 ? " (solved for the target epsilon)" : "", o.clip_norm, q,
      o.expected_batch, n, steps_per_epoch, options.clipping, recipe.optimizer.name,
      recipe.optimizer.lr);

  ClassifierRun run;
  run.best_validation_accuracy = -1;
  auto progress = ctx.progress("training the " + what + " (DP)", recipe.epochs);
  DropoutScope dropout_draws(&ctx.generator());
  // Data-parallel: every rank draws the same Poisson batch and the same augmentation, clips its
  // share of each chunk and the clipped sums are added in privatize(). Loop clipping draws each
  // example's dropout masks one example at a time, which a share cannot reproduce, so it runs the
  // whole batch on every rank (the same result, without the speed-up).
  auto& comm = ctx.communicator();
  const bool split = options.clipping != "loop";
  if (!split && comm.world_size() > 1)
    ctx.logger()->info(
        "{}: dp_clipping = loop is not split across the {} ranks (each clips the whole batch); "
        "dp_clipping = vectorized trains data-parallel",
        what, comm.world_size());
  for (std::int64_t epoch = 0; epoch < recipe.epochs; ++epoch) {
    set_learning_rate(*optimizer, recipe.optimizer.lr_at(epoch, recipe.epochs));
    net.train();
    double total_loss = 0, correct = 0;
    std::int64_t seen = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      const auto idx = dp_sgd.sample(ctx.generator());
      const auto clipped = clip_batch(net, params, normalization, train, idx, recipe, options,
                                      taped, split, dropout_draws, ctx, total_loss, correct);
      seen += idx.size(0);
      // An empty Poisson batch is still a step: the update is pure noise.
      if (split)
        dp_sgd.privatize(clipped, ctx.generator(), comm);
      else
        dp_sgd.privatize(clipped, ctx.generator());
      optimizer->step();
    }
    if (split) {
      const auto sums = sum_over_ranks(comm, {total_loss, correct});
      total_loss = sums[0];
      correct = sums[1];
    }
    run.final_train_loss = seen > 0 ? total_loss / double(seen) : 0.0;
    run.final_train_accuracy = seen > 0 ? correct / double(seen) : 0.0;
    end_epoch(net, normalization, validation, recipe, epoch, device, run, *progress);
  }
  progress->finish();
  finish_run(net, validation, recipe, run);

  dp::record_spent(dp_sgd, options.delta, options.target_epsilon, report);
  report.optimizer = recipe.optimizer.name;
  report.lr = recipe.optimizer.lr;
  report.clipping = options.clipping;
  report.norm = norm_kinds(net);
  report.input_statistics = "fixed per-channel preset (no training data)";
  ctx.logger()->info(
      "{}: DP-SGD spent epsilon = {:.4f} at delta = {:g} over {} steps (RDP order {})", what,
      report.epsilon, report.delta, report.steps, report.rdp_order);
  return run;
}

}  // namespace panoramia::image
