#include "target.hpp"

#include <fstream>

#include <torch/torch.h>
#include <panoramia/archive.hpp>

namespace panoramia::mlp {
namespace {

TrainOptions train_options(const OptionValues& o) {
  // In the order of the struct's fields (network.hpp).
  return TrainOptions{o.get_int("epochs"), o.get_int("batch_size"), o.get_double("lr"),
                      o.get_double("weight_decay"), o.get_int("patience")};
}

std::vector<OptionSpec> base_target_options() {
  using T = OptionType;
  return {option("hidden", T::kIntList, "150,100,50,10", "hidden layer sizes").at_least(1),
          option("epochs", T::kInt, "100", "training epochs").at_least(0),
          option("batch_size", T::kInt, "32", "mini-batch size").at_least(1),
          option("lr", T::kDouble, "0.001", "Adam learning rate").above(0),
          option("weight_decay", T::kDouble, "0", "Adam weight decay").at_least(0),
          option("dropout", T::kDouble, "0", "dropout after each hidden layer").within_below(0, 1),
          option("patience", T::kInt, "0",
                 "stop after this many epochs without validation improvement (0: never)")
              .at_least(0),
          option("standardize", T::kBool, "true", "standardise continuous inputs"),
          option("output", T::kString, "auto",
                 "output layer: sigmoid (one unit, BCE), softmax (cross-entropy) or auto "
                 "(sigmoid for 2 classes)",
                 {"auto", "sigmoid", "softmax"})};
}

}  // namespace

std::vector<OptionSpec> target_options() {
  auto options = base_target_options();
  for (auto& o : dp_options()) options.push_back(std::move(o));
  return options;
}

std::vector<OptionSpec> attack_options() {
  using T = OptionType;
  return {
      option("hidden", T::kIntList, "64,32", "hidden layer sizes").at_least(1),
      option("epochs", T::kInt, "50", "maximum training epochs").at_least(0),
      option("batch_size", T::kInt, "64", "mini-batch size").at_least(1),
      option("lr", T::kDouble, "0.001", "Adam learning rate").above(0),
      option("weight_decay", T::kDouble, "0", "Adam weight decay").at_least(0),
      option("patience", T::kInt, "10", "early-stopping patience in epochs (0: never)").at_least(0),
      option("validation_fraction", T::kDouble, "0.2",
             "fraction of the attack-training set held out for model selection")};
}

void MlpTarget::fit(const Batch& train, const Batch& validation, Context& ctx) {
  const auto& o = ctx.options();
  if (!train.y.defined()) throw std::invalid_argument("the mlp target needs labelled samples");
  // Under DP the input statistics must not come from the training data, which the guarantee
  // protects: they are taken from the validation data (held out) when there is some.
  const bool dp = o.get_bool("dp");
  if (dp && validation.size() == 0)
    ctx.logger()->warn(
        "mlp: no validation data, so the input standardisation is fitted on the training data and "
        "is not covered by the DP guarantee");
  encoder_.fit(dp && validation.size() > 0 ? validation : train, o.get_bool("standardize"));
  const int64_t classes =
      train.schema && train.schema->label >= 0
          ? int64_t(train.schema->columns[train.schema->label].categories.size())
          : train.y.max().item<int64_t>() + 1;
  std::string output = o.get_string("output");
  if (output == "auto") output = classes <= 2 ? "sigmoid" : "softmax";
  if (output == "sigmoid" && classes > 2)
    throw std::invalid_argument("output = sigmoid needs 2 classes, the labels have " +
                                std::to_string(classes));
  MlpOptions net_options;
  net_options.inputs = encoder_.width();
  for (auto h : o.get_int_list("hidden")) net_options.hidden.push_back(h);
  net_options.outputs = output == "sigmoid" ? 1 : classes;
  net_options.dropout = o.get_double("dropout");
  net_ = Mlp(net_options);
  const auto x = encoder_.encode(train);
  const auto xv = validation.size() > 0 ? encoder_.encode(validation) : torch::Tensor();
  const auto yv = validation.size() > 0 ? validation.y : torch::Tensor();
  dp_.reset();
  TrainResult result;
  if (dp) {
    DpReport report;
    result = train_dp(net_, x, train.y, xv, yv, dp_train_options(o, train_options(o)), ctx, report);
    report.input_statistics = validation.size() > 0 ? kInputsFromValidation : kInputsFromTraining;
    dp_ = report;
  } else {
    result = mlp::train(net_, x, train.y, xv, yv, train_options(o), ctx, "training the mlp");
  }
  final_ = copy_state(*net_);
  best_ = result.best;
  ctx.logger()->info("mlp: best validation loss {:.4f} at epoch {}, final train loss {:.4f}",
                     result.best_validation_loss, result.best_epoch, result.final_train_loss);
}

SideSignals MlpTarget::side_signals(const Batch& samples, const std::string& variant, Context&) {
  if (!net_) throw std::logic_error("side_signals() before fit() or load()");
  if (variant != "best" && variant != "final")
    throw std::invalid_argument("unknown model variant '" + variant + "' (best, final)");
  if (!samples.y.defined()) throw std::invalid_argument("the mlp target needs labelled samples");
  restore_state(*net_, variant == "best" ? best_ : final_);
  SideSignals s;
  s.logits = predict_logits(net_, encoder_.encode(samples));
  s.loss = per_example_loss(s.logits, samples.y).to(torch::kFloat32);
  if (s.logits.dim() == 1) s.logits = s.logits.unsqueeze(1);
  return s;
}

void MlpTarget::save(const std::filesystem::path& dir, Context&) const {
  if (!net_) throw std::logic_error("save() before fit()");
  torch::serialize::OutputArchive a;
  encoder_.save(a);
  const auto& n = net_->options();
  a.write("net.shape", torch::tensor(std::vector<int64_t>{n.inputs, n.outputs}, torch::kInt64));
  a.write("net.hidden", torch::tensor(n.hidden, torch::kInt64));
  a.write("net.dropout", torch::tensor({n.dropout}, torch::kFloat64));
  for (size_t i = 0; i < best_.size(); ++i) a.write("best." + std::to_string(i), best_[i]);
  for (size_t i = 0; i < final_.size(); ++i) a.write("final." + std::to_string(i), final_[i]);
  if (dp_) {
    a.write("dp.report",
            torch::tensor(
                std::vector<double>{dp_->epsilon, dp_->delta, dp_->rdp_order, dp_->noise_multiplier,
                                    dp_->clip_norm, dp_->sample_rate, dp_->target_epsilon, dp_->lr},
                torch::kFloat64));
    a.write(
        "dp.counts",
        torch::tensor(std::vector<int64_t>{dp_->expected_batch, dp_->steps, dp_->dataset_size,
                                           dp_->input_statistics == kInputsFromValidation ? 1 : 0},
                      torch::kInt64));
    a.write("dp.optimizer_is_adam", torch::tensor({dp_->optimizer == "adam" ? 1 : 0}));
    std::ofstream json(dir / "dp.json");
    json << dp::dp_report_json(*dp_);
    if (!json) throw std::runtime_error("cannot write " + (dir / "dp.json").string());
  }
  panoramia::save_archive(a, dir / "mlp.pt");
}

void MlpTarget::load(const std::filesystem::path& dir, Context&) {
  const auto file = dir / "mlp.pt";
  if (!std::filesystem::exists(file)) throw std::runtime_error("no saved mlp at " + file.string());
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  encoder_.load(a);
  torch::Tensor shape, hidden, dropout;
  a.read("net.shape", shape);
  a.read("net.hidden", hidden);
  a.read("net.dropout", dropout);
  MlpOptions n;
  n.inputs = shape[0].item<int64_t>();
  n.outputs = shape[1].item<int64_t>();
  n.hidden.assign(hidden.data_ptr<int64_t>(), hidden.data_ptr<int64_t>() + hidden.numel());
  n.dropout = dropout[0].item<double>();
  net_ = Mlp(n);
  const size_t count = copy_state(*net_).size();
  best_.resize(count);
  final_.resize(count);
  for (size_t i = 0; i < count; ++i) {
    a.read("best." + std::to_string(i), best_[i]);
    a.read("final." + std::to_string(i), final_[i]);
  }
  dp_.reset();
  torch::Tensor report, counts, adam;
  if (a.try_read("dp.report", report) && a.try_read("dp.counts", counts) &&
      a.try_read("dp.optimizer_is_adam", adam)) {
    const auto r = report.accessor<double, 1>();
    const auto c = counts.accessor<int64_t, 1>();
    DpReport d;
    d.epsilon = r[0];
    d.delta = r[1];
    d.rdp_order = r[2];
    d.noise_multiplier = r[3];
    d.clip_norm = r[4];
    d.sample_rate = r[5];
    d.target_epsilon = r[6];
    d.lr = r[7];
    d.expected_batch = c[0];
    d.steps = c[1];
    d.dataset_size = c[2];
    d.input_statistics = c[3] != 0 ? kInputsFromValidation : kInputsFromTraining;
    d.clipping = "vectorized";
    d.norm = "none";
    d.optimizer = adam.item<int64_t>() ? "adam" : "sgd";
    dp_ = d;
  }
}

void MlpAttack::fit(const AttackData& train, const torch::Tensor& is_member, Context& ctx) {
  const auto& o = ctx.options();
  auto x = train.features.to(torch::kFloat32);
  if (x.dim() != 2 || x.size(0) != is_member.size(0))
    throw std::invalid_argument("features must be [n, d] and aligned with the labels");
  mean_ = x.mean(0);
  std_ = x.std(0).clamp_min(1e-6);
  x = (x - mean_) / std_;
  const auto y = is_member.to(torch::kFloat32);
  // Hold out a validation part (seeded) for model selection.
  const int64_t n = x.size(0);
  const int64_t n_val = static_cast<int64_t>(double(n) * o.get_double("validation_fraction"));
  const auto order = torch::randperm(n, ctx.generator(), torch::kInt64);
  const auto val_idx = order.slice(0, 0, n_val);
  const auto train_idx = order.slice(0, n_val, n);
  MlpOptions net_options;
  net_options.inputs = x.size(1);
  for (auto h : o.get_int_list("hidden")) net_options.hidden.push_back(h);
  net_options.outputs = 1;
  net_ = Mlp(net_options);
  auto result = mlp::train(net_, x.index_select(0, train_idx), y.index_select(0, train_idx),
                           x.index_select(0, val_idx), y.index_select(0, val_idx), train_options(o),
                           ctx, "training the mlp attack");
  restore_state(*net_, result.best);
}

torch::Tensor MlpAttack::score(const AttackData& data, Context&) {
  if (!net_) throw std::logic_error("score() before fit()");
  const auto x = (data.features.to(torch::kFloat32) - mean_) / std_;
  return torch::sigmoid(predict_logits(net_, x)).to(torch::kFloat32);
}

}  // namespace panoramia::mlp
