#pragma once
// DP-SGD training of an image classifier (panoramia_dp), as Opacus runs it: Poisson batches of
// expected size batch_size, each example's gradient clipped to clip_norm, Gaussian noise of std
// noise_multiplier·clip_norm on the sum, divided by the expected batch size, then the recipe's
// optimiser and learning-rate schedule (post-processing). The network must hold no BatchNorm
// (batch statistics mix examples). Per-example clipping is one backward pass per example (`loop`,
// any network) or vectorised through a dp::LayerTape (`vectorized`, for networks whose forward
// pass records every layer with parameters; the caller passes that forward pass). Augmentation
// (flips, crops) is drawn independently for each sampled example at each step, so each example's
// clipped gradient is still a function of that example alone. Frozen parameters (requires_grad
// false) are neither clipped nor noised. The RDP accountant's ε at δ covers every iterate, so both
// the best-validation and the final state are covered (picking one of them on the held-out
// validation set is post-processing).

#include <functional>
#include <string>
#include <vector>

#include <dp/dp_options.hpp>
#include <dp/layer_tape.hpp>
#include <panoramia/context.hpp>
#include <panoramia/data.hpp>
#include <panoramia/options.hpp>

#include "classifier.hpp"

namespace panoramia::image {

using dp::dp_options;
using dp::dp_options_from;
using dp::dp_report_from_json;
using dp::dp_report_json;
using dp::DpOptions;
using dp::DpReport;

/// The network's forward pass recording every layer with parameters in the tape.
using TapedForward = std::function<at::Tensor(const at::Tensor& x, dp::LayerTape& tape)>;

/// Trains `net` (on ctx.device()) with DP-SGD on `train`; the epochs, expected batch size,
/// augmentation, validation schedule and optimiser come from `recipe`; `what` names the target in
/// messages ("wrn"). `taped` is needed for dp_clipping = vectorized. Fills `report` (`norm`: the
/// kinds of normalisation layers the network holds). Throws std::invalid_argument when the network
/// holds BatchNorm, an option is out of range, or vectorised clipping is asked without `taped`.
ClassifierRun train_dp(ImageClassifierImpl& net, const Normalization& normalization,
                       const Batch& train, const Batch& validation, const ClassifierRecipe& recipe,
                       const DpOptions& options, Context& ctx, DpReport& report,
                       const std::string& what, const TapedForward& taped = {});

}  // namespace panoramia::image
