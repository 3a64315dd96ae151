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

#include <dp/layer_tape.hpp>
#include <panoramia/context.hpp>
#include <panoramia/data.hpp>
#include <panoramia/options.hpp>

#include "classifier.hpp"

namespace panoramia::image {

struct DpOptions {
  double noise_multiplier = 1.0;
  double clip_norm = 1.0;
  double target_epsilon = 0.0;  // > 0: solve the noise multiplier for this ε over all epochs
  double delta = 1e-5;
  std::string clipping = "vectorized";  // vectorized (LayerTape) | loop (one backward per example)
  std::int64_t physical_batch = 0;      // examples per clipping pass (0: the whole Poisson batch)
};

/// What the accountant reports for a DP training run (written to dp.json).
struct DpReport {
  double epsilon = 0, delta = 0, rdp_order = 0;
  double noise_multiplier = 0, clip_norm = 0, sample_rate = 0, target_epsilon = 0;
  std::int64_t expected_batch = 0, steps = 0, dataset_size = 0;
  std::string optimizer, clipping, norm;
  double lr = 0;
};

/// The DP options of an image target: dp, noise_multiplier, clip_norm, target_epsilon, delta,
/// dp_clipping (default `clipping`), dp_physical_batch. `norm_note` ends the help of `dp`.
std::vector<OptionSpec> dp_options(const std::string& clipping = "vectorized",
                                   const std::string& norm_note = "");
DpOptions dp_options_from(const OptionValues& values);

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

/// `report` as JSON text, and back (throws std::invalid_argument on malformed text).
std::string dp_report_json(const DpReport& report);
DpReport dp_report_from_json(const std::string& text);

}  // namespace panoramia::image
