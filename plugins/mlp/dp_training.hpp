#pragma once
// DP-SGD training of the mlp (panoramia_dp): Poisson batches of expected size batch_size,
// vectorised per-example clipping on the Linear stack, Gaussian noise, SGD or Adam, and the RDP
// accountant's ε at δ for the whole run (every iterate, so both the best-validation and the final
// state are covered: picking one of them is post-processing).

#include <string>

#include <dp/dp_options.hpp>
#include <panoramia/options.hpp>

#include "network.hpp"

namespace panoramia::mlp {

struct DpTrainOptions {
  TrainOptions base;  // epochs, batch_size (the expected batch), patience; lr/weight_decay unused
  double noise_multiplier = 1.0;
  double clip_norm = 1.0;
  double target_epsilon = 0.0;  // > 0: solve the noise multiplier for this ε over all epochs
  double delta = 1e-5;
  std::string optimizer = "sgd";
  double lr = 0.1;
};

/// What the accountant reports (dp.json): the DP library's report. `input_statistics` says where
/// the input standardisation was fitted: one of the two texts below.
using DpReport = dp::DpReport;
inline constexpr const char* kInputsFromValidation = "validation data (outside the training set)";
inline constexpr const char* kInputsFromTraining = "training data (not covered by the guarantee)";

/// The DP options of the mlp target, appended to its option list.
std::vector<OptionSpec> dp_options();
/// Reads them (with `base` taken from the non-DP options).
DpTrainOptions dp_train_options(const OptionValues& values, const TrainOptions& base);

/// Trains `net` with DP-SGD on (x, y); validation as in train(). Fills `report`.
TrainResult train_dp(Mlp& net, const torch::Tensor& x, const torch::Tensor& y,
                     const torch::Tensor& x_val, const torch::Tensor& y_val,
                     const DpTrainOptions& options, Context& ctx, DpReport& report);

}  // namespace panoramia::mlp
