#include "optimizer.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>

#include "image_batch.hpp"
#include "optim/adam.hpp"

namespace panoramia::image {
namespace {

template <typename T>
std::string join(const std::vector<T>& values) {
  std::ostringstream out;
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

double OptimizerRecipe::lr_at(std::int64_t epoch, std::int64_t epochs) const {
  double value = lr;
  if (schedule == "multistep") {
    for (const auto m : milestones)
      if (epoch >= m) value *= gamma;
  } else if (schedule == "cosine") {
    const double t = epochs > 1 ? double(epoch) / double(epochs) : 0.0;
    value = 0.5 * lr * (1.0 + std::cos(M_PI * t));
  }
  if (epoch < warmup_epochs) value *= 0.1 + 0.9 * double(epoch) / double(warmup_epochs);
  return value;
}

std::vector<OptionSpec> optimizer_options(const OptimizerRecipe& d) {
  using T = OptionType;
  return {
      option("optimizer", T::kString, d.name, "optimiser", {"sgd", "adam", "adamw"}),
      option("lr", T::kDouble, number(d.lr), "learning rate").above(0),
      option("momentum", T::kDouble, number(d.momentum), "SGD momentum").within(0, 1),
      option("nesterov", T::kBool, d.nesterov ? "true" : "false", "SGD Nesterov momentum"),
      option("weight_decay", T::kDouble, number(d.weight_decay), "weight decay").at_least(0),
      option("betas", T::kDoubleList, number(d.beta1) + "," + number(d.beta2), "Adam/AdamW betas"),
      option("schedule", T::kString, d.schedule,
             "learning-rate schedule: multistep (times gamma at each milestone), cosine "
             "(annealed to 0 over the run) or constant",
             {"multistep", "cosine", "constant"}),
      option("milestones", T::kIntList, join(d.milestones),
             "epochs at which multistep multiplies the learning rate by gamma"),
      option("gamma", T::kDouble, number(d.gamma), "multistep factor"),
      option("warmup_epochs", T::kInt, std::to_string(d.warmup_epochs),
             "epochs of linear learning-rate warm-up")};
}

OptimizerRecipe optimizer_from_options(const OptionValues& o) {
  OptimizerRecipe r;
  r.name = o.get_string("optimizer");
  r.lr = o.get_double("lr");
  r.momentum = o.get_double("momentum");
  r.nesterov = o.get_bool("nesterov");
  r.weight_decay = o.get_double("weight_decay");
  const auto betas = o.get_double_list("betas");
  if (betas.size() != 2) throw std::invalid_argument("option betas needs two numbers");
  r.beta1 = betas[0];
  r.beta2 = betas[1];
  r.schedule = o.get_string("schedule");
  r.milestones = o.get_int_list("milestones");
  r.gamma = o.get_double("gamma");
  r.warmup_epochs = o.get_int("warmup_epochs");
  if (!(r.lr > 0)) throw std::invalid_argument("option lr must be positive");
  return r;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& parameters,
                                                        const OptimizerRecipe& r) {
  std::vector<at::Tensor> trainable;
  for (const auto& p : parameters)
    if (p.requires_grad()) trainable.push_back(p);
  if (trainable.empty()) throw std::invalid_argument("the model has no trainable parameters");
  if (r.name == "sgd")
    return std::make_unique<torch::optim::SGD>(trainable, torch::optim::SGDOptions(r.lr)
                                                              .momentum(r.momentum)
                                                              .nesterov(r.nesterov)
                                                              .weight_decay(r.weight_decay));
  if (r.name == "adam")
    return std::make_unique<panoramia::optim::Adam>(
        trainable,
        torch::optim::AdamOptions(r.lr).betas({r.beta1, r.beta2}).weight_decay(r.weight_decay));
  if (r.name == "adamw")
    return std::make_unique<panoramia::optim::AdamW>(
        trainable,
        torch::optim::AdamWOptions(r.lr).betas({r.beta1, r.beta2}).weight_decay(r.weight_decay));
  throw std::invalid_argument("unknown optimizer '" + r.name + "' (sgd, adam, adamw)");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace panoramia::image
