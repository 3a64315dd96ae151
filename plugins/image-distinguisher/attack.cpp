#include "attack.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

#include "image_batch.hpp"
#include "random.hpp"

namespace panoramia::distinguisher {
namespace {

using panoramia::option;

/// Indices of a stratified held-out part: `fraction` of the members and of the non-members.
std::pair<at::Tensor, at::Tensor> stratified_split(const at::Tensor& y, double fraction,
                                                   at::Generator& generator) {
  std::vector<at::Tensor> train, held;
  for (const bool member : {false, true}) {
    const auto idx = (y > 0.5).eq(member).nonzero().flatten();
    const auto shuffled =
        idx.index_select(0, torch::randperm(idx.size(0), generator, torch::kInt64));
    const std::int64_t k = std::int64_t(double(idx.size(0)) * fraction);
    held.push_back(shuffled.slice(0, 0, k));
    train.push_back(shuffled.slice(0, k));
  }
  return {torch::cat(train), torch::cat(held)};
}

double metric(const std::string& selection, const at::Tensor& logits, const at::Tensor& y) {
  if (selection == "loss") return torch::binary_cross_entropy_with_logits(logits, y).item<double>();
  if (selection == "auc") return roc_auc(logits, y);
  return (logits > 0).eq(y > 0.5).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

std::vector<OptionSpec> attack_options() {
  using T = OptionType;
  std::vector<OptionSpec> specs{
      option("image_branch", T::kBool, "true", "use the CNN on the image"),
      option("feature_branch", T::kBool, "true", "use the MLP on the featurizer's output"),
      option("width", T::kInt, "64", "channels of the CNN's first stage (64: ResNet-18)")
          .at_least(1),
      option("blocks", T::kIntList, "2,2,2,2", "basic blocks per CNN stage (2,2,2,2: ResNet-18)"),
      option("mlp_hidden", T::kIntList, "32,32", "hidden layers of the feature MLP").at_least(1),
      option("dropout", T::kDouble, "0", "dropout before the joint output layer")
          .within_below(0, 1),
      option("epochs", T::kInt, "40", "maximum training epochs").at_least(0),
      option("batch_size", T::kInt, "64", "mini-batch size").at_least(1),
      option("patience", T::kInt, "5",
             "stop after this many epochs without improvement on the held-out rows (0: never)")
          .at_least(0),
      option("validation_fraction", T::kDouble, "0.2",
             "stratified fraction of the attack-training rows held out for model selection"),
      option("selection", T::kString, "loss",
             "held-out metric that picks the epoch: loss (BCE), auc or accuracy",
             {"loss", "auc", "accuracy"}),
      option("flip", T::kBool, "false", "augment training images with random horizontal flips"),
      option("crop_padding", T::kInt, "0", "augment with random crops of the padded image"),
      option("eval_batch_size", T::kInt, "256", "batch size of inference").at_least(1)};
  image::OptimizerRecipe sgd;
  sgd.name = "sgd";
  sgd.lr = 0.01;
  sgd.momentum = 0.9;
  sgd.weight_decay = 5e-4;
  sgd.schedule = "multistep";
  sgd.milestones = {10, 20, 30};
  sgd.gamma = 0.1;
  for (auto& s : image::optimizer_options(sgd)) specs.push_back(std::move(s));
  for (auto& s : image::normalization_options("auto")) specs.push_back(std::move(s));
  return specs;
}

double roc_auc(const at::Tensor& scores, const at::Tensor& labels) {
  const auto s = scores.to(torch::kCPU, torch::kFloat64).flatten();
  const auto y = labels.to(torch::kCPU, torch::kFloat64).flatten() > 0.5;
  const double positives = y.sum().item<double>();
  const double negatives = double(y.numel()) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  // Mann-Whitney U with average ranks for ties.
  const auto order = s.argsort();
  const auto sorted = s.index_select(0, order);
  const auto* v = sorted.data_ptr<double>();
  std::vector<double> ranks(s.numel());
  for (std::int64_t i = 0; i < s.numel();) {
    std::int64_t j = i;
    while (j + 1 < s.numel() && v[j + 1] == v[i]) ++j;
    for (std::int64_t k = i; k <= j; ++k) ranks[k] = 0.5 * double(i + j) + 1.0;
    i = j + 1;
  }
  const auto rank = torch::from_blob(ranks.data(), {s.numel()}, torch::kFloat64);
  const double rank_sum = rank.masked_select(y.index_select(0, order)).sum().item<double>();
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

at::Tensor DistinguisherAttack::standardized(const AttackData& data) const {
  if (!feature_mean_.defined()) return at::Tensor();
  if (!data.features.defined() || data.features.dim() != 2 ||
      data.features.size(0) != data.samples.size() ||
      data.features.size(1) != feature_mean_.size(0))
    throw std::invalid_argument("the attack was trained on " +
                                std::to_string(feature_mean_.size(0)) +
                                " features per sample; these rows do not have them");
  return (data.features.to(torch::kCPU, torch::kFloat32) - feature_mean_) / feature_std_;
}

DistinguisherOptions DistinguisherAttack::network_options(const AttackData& train, Context& ctx) {
  const auto& o = ctx.options();
  DistinguisherOptions net;
  net.image_branch = o.get_bool("image_branch");
  net.encoder.in_channels = image_shape_[0];
  net.encoder.width = o.get_int("width");
  net.encoder.blocks = o.get_int_list("blocks");
  net.mlp_hidden = o.get_int_list("mlp_hidden");
  net.dropout = o.get_double("dropout");
  feature_mean_ = feature_std_ = at::Tensor();
  if (o.get_bool("feature_branch") && train.features.defined() && train.features.numel() > 0) {
    if (train.features.dim() != 2 || train.features.size(0) != train.samples.size())
      throw std::invalid_argument(
          "the attack features must be [n, d] and aligned with the samples");
    const auto f = train.features.to(torch::kCPU, torch::kFloat32);
    feature_mean_ = f.mean(0);
    feature_std_ = f.std(0).clamp_min(1e-6);
    net.features = f.size(1);
  } else if (o.get_bool("feature_branch")) {
    ctx.logger()->warn("image distinguisher: no features were given, training the CNN alone");
  }
  return net;
}

namespace {

// The held-out rows `idx` of the attack-training data (samples and raw features).
AttackData held_out_rows(const AttackData& train, bool with_features, const at::Tensor& idx) {
  AttackData held;
  held.samples.x = train.samples.x.index_select(0, idx);
  held.samples.y = train.samples.y.defined() ? train.samples.y.index_select(0, idx) : at::Tensor();
  if (with_features) held.features = train.features.index_select(0, idx);
  return held;
}

}  // namespace

void DistinguisherAttack::fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) {
  const auto& o = ctx.options();
  image::check_image_batch(train.samples, "the attack-training samples", false);
  const std::int64_t n = train.samples.size();
  if (is_member.numel() != n)
    throw std::invalid_argument("the attack got " + std::to_string(is_member.numel()) +
                                " membership labels for " + std::to_string(n) + " samples");
  const auto y = is_member.to(torch::kCPU, torch::kFloat32).flatten();
  image_shape_ = train.samples.x.sizes().slice(1).vec();
  normalization_ = image::normalization_from_options(o, image_shape_[0]);

  const DistinguisherOptions net = network_options(train, ctx);
  net_ = Distinguisher(net);
  image::default_init(*net_, ctx.generator());
  net_->to(ctx.device());

  const auto [train_idx, held_idx] =
      stratified_split(y, o.get_double("validation_fraction"), ctx.generator());
  const auto features = standardized(train);
  const auto recipe = image::optimizer_from_options(o);
  auto optimizer = image::make_optimizer(net_->parameters(), recipe);
  const image::AugmentOptions augment{o.get_bool("flip"), o.get_int("crop_padding")};
  const std::int64_t epochs = o.get_int("epochs"), batch = o.get_int("batch_size");
  const std::int64_t patience = o.get_int("patience");
  const std::string selection = o.get_string("selection");
  const bool lower_is_better = selection == "loss";
  const auto device = ctx.device();
  const bool has_held = held_idx.numel() > 0;
  const AttackData held =
      has_held ? held_out_rows(train, features.defined(), held_idx) : AttackData{};
  const auto held_y = has_held ? y.index_select(0, held_idx) : at::Tensor();

  DropoutScope dropout_draws(&ctx.generator());
  DataParallel dp(ctx.communicator(),
                  *net_);  // every rank draws the same batches, trains its shard
  selection_ = Selection{};
  image::ModelState best;
  double best_value = 0;
  std::int64_t since_best = 0;
  const std::int64_t m = train_idx.size(0);
  auto progress = ctx.progress("training the image distinguisher", epochs);
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    image::set_learning_rate(*optimizer, recipe.lr_at(epoch, epochs));
    net_->train();
    const auto order =
        train_idx.index_select(0, torch::randperm(m, ctx.generator(), torch::kInt64));
    double total = 0;
    for (std::int64_t i = 0; i < m; i += batch) {
      const auto idx = order.slice(0, i, std::min(m, i + batch));
      at::Tensor xb, fb;
      if (net.image_branch) {
        xb = image::augment(train.samples.x.index_select(0, idx), augment, ctx.generator());
        xb = normalization_.apply(xb.to(device, torch::kFloat32));
      }
      if (features.defined()) fb = features.index_select(0, idx).to(device);
      const auto yb = dp.shard(y.index_select(0, idx).to(device));
      const auto [first, last] = dp.shard_range(idx.size(0));
      dropout_draws.set_rows({idx.size(0), first, last});  // masks drawn for the global batch
      if (xb.defined()) xb = dp.shard(xb);
      if (fb.defined()) fb = dp.shard(fb);
      optimizer->zero_grad();
      at::Tensor loss;
      if (dp.world_size() == 1) {
        loss = torch::binary_cross_entropy_with_logits(net_->forward(xb, fb), yb);
        total += loss.item<double>() * double(idx.size(0));
      } else {  // this rank's share of the global batch's mean loss
        const auto losses = torch::binary_cross_entropy_with_logits(net_->forward(xb, fb), yb, {},
                                                                    {}, at::Reduction::None);
        loss = yb.size(0) > 0 ? losses.mean() * dp.loss_weight(idx.size(0)) : losses.sum();
        total += losses.detach().sum().item<double>();
      }
      dp.prepare();
      loss.backward();
      dp.synchronize();
      optimizer->step();
    }
    total = dp.sum({total})[0];
    ++selection_.epochs_run;
    std::string status = fmt::format("loss {:.4f}", total / double(std::max<std::int64_t>(m, 1)));
    if (!has_held) {
      progress->advance(1, status);
      continue;
    }
    const double value = metric(selection, logits(held, ctx), held_y);
    status += fmt::format(" held-out {} {:.4f}", selection, value);
    if (best.empty() || (lower_is_better ? value < best_value : value > best_value)) {
      best_value = value;
      best = image::copy_state(*net_);
      selection_.best_epoch = epoch + 1;
      since_best = 0;
    } else if (patience > 0 && ++since_best >= patience) {
      progress->advance(1, status + " (early stop)");
      break;
    }
    progress->advance(1, status);
  }
  progress->finish();
  if (!best.empty()) image::restore_state(*net_, best);
  selection_.best_value = best_value;
  ctx.logger()->info(
      "image distinguisher: {} epochs, kept epoch {} (held-out {} {:.4f}) of {} "
      "training and {} held-out rows",
      selection_.epochs_run, selection_.best_epoch, selection, best_value, m, held_idx.numel());
}

at::Tensor DistinguisherAttack::logits(const AttackData& data, Context& ctx) {
  torch::NoGradGuard guard;
  net_->eval();
  const auto features = standardized(data);
  const std::int64_t n = data.samples.size(), batch = ctx.options().get_int("eval_batch_size");
  const auto device = ctx.device();
  std::vector<at::Tensor> out;
  for (std::int64_t i = 0; i < n; i += batch) {
    at::Tensor xb, fb;
    if (net_->options().image_branch)
      xb = normalization_.apply(
          data.samples.x.slice(0, i, std::min(n, i + batch)).to(device, torch::kFloat32));
    if (features.defined()) fb = features.slice(0, i, std::min(n, i + batch)).to(device);
    out.push_back(net_->forward(xb, fb).to(torch::kCPU, torch::kFloat32));
  }
  return out.empty() ? torch::empty({0}, torch::kFloat32) : torch::cat(out);
}

at::Tensor DistinguisherAttack::score(const AttackData& data, Context& ctx) {
  if (!net_) throw std::logic_error("score() before fit()");
  image::check_image_batch(data.samples, "the samples to score", false);
  if (data.samples.x.sizes().slice(1).vec() != image_shape_)
    throw std::invalid_argument("the attack was trained on images of another shape");
  return torch::sigmoid(logits(data, ctx));
}

}  // namespace panoramia::distinguisher
