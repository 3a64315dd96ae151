#pragma once
// DP-SGD training of the Wide ResNet (panoramia_dp), as Opacus runs it: Poisson batches of expected
// size batch_size, each example's gradient clipped to clip_norm, Gaussian noise of std
// noise_multiplier·clip_norm on the sum, divided by the expected batch size, then the recipe's
// optimiser and learning-rate schedule (post-processing). The network must use GroupNorm (no
// BatchNorm: batch statistics mix examples). Per-example clipping is vectorised through a
// dp::LayerTape (ghost norms and a second weighted backward) or, as a fallback, one backward pass
// per example. Augmentation (flips, crops) is drawn independently for each sampled example at each
// step, so each example's clipped gradient is still a function of that example alone. The RDP
// accountant's ε at δ covers every iterate, so both the best-validation and the final state are
// covered (picking one of them on the held-out validation set is post-processing).

#include <optional>
#include <string>
#include <vector>

#include <panoramia/context.hpp>
#include <panoramia/data.hpp>
#include <panoramia/options.hpp>

#include "classifier.hpp"
#include "wide_resnet.hpp"

namespace panoramia::wrn {

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

/// The DP options of the wrn target: dp, noise_multiplier, clip_norm, target_epsilon, delta,
/// dp_clipping, dp_physical_batch.
std::vector<OptionSpec> dp_options();
DpOptions dp_options_from(const OptionValues& values);

/// Trains `net` (on ctx.device()) with DP-SGD on `train`; the epochs, expected batch size,
/// augmentation, validation schedule and optimiser come from `recipe`. Fills `report`. Throws
/// std::invalid_argument when the network holds BatchNorm or an option is out of range.
image::ClassifierRun train_dp(WideResNetImpl& net, const image::Normalization& normalization,
                              const Batch& train, const Batch& validation,
                              const image::ClassifierRecipe& recipe, const DpOptions& options,
                              Context& ctx, DpReport& report);

/// `report` as JSON text, and back (throws std::invalid_argument on malformed text).
std::string dp_report_json(const DpReport& report);
DpReport dp_report_from_json(const std::string& text);

}  // namespace panoramia::wrn
