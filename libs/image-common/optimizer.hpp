#pragma once
// Optimisers and learning-rate schedules chosen by options, shared by the image models.

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>
#include <panoramia/options.hpp>

namespace panoramia::image {

struct OptimizerRecipe {
  std::string name = "adamw";  // sgd | adam | adamw
  double lr = 0.01;
  double momentum = 0.9;  // sgd only
  bool nesterov = false;  // sgd only
  double weight_decay = 5e-4;
  double beta1 = 0.9, beta2 = 0.999;                   // adam, adamw
  std::string schedule = "multistep";                  // multistep | cosine | constant
  std::vector<std::int64_t> milestones{60, 120, 160};  // epochs, for multistep
  double gamma = 0.2;                                  // multistep factor
  std::int64_t warmup_epochs = 0;                      // linear warm-up from lr/10

  /// The learning rate of epoch `epoch` (0-based) in a run of `epochs` epochs.
  double lr_at(std::int64_t epoch, std::int64_t epochs) const;
};

/// Option specs of an optimiser recipe with the given defaults.
std::vector<OptionSpec> optimizer_options(const OptimizerRecipe& defaults);
OptimizerRecipe optimizer_from_options(const OptionValues& options);

/// An optimiser over `parameters` (only those that require gradients are kept).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& parameters,
                                                        const OptimizerRecipe& recipe);
/// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace panoramia::image
