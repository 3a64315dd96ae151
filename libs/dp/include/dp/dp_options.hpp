#pragma once
// The options of DP-SGD training shared by the targets that train with it (wrn, vit, gpt2): dp,
// noise_multiplier, clip_norm, target_epsilon, delta, dp_clipping, dp_physical_batch; and the
// accountant's report written to dp.json and kept with a checkpoint.

#include <cstdint>
#include <string>
#include <vector>

#include <panoramia/options.hpp>

namespace panoramia::dp {

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
  std::string input_statistics;  // where input normalisation comes from (empty: not applicable)
  double lr = 0;
};

/// The accountant's options, shared by every DP-SGD trainer (also the mlp plugin's own):
/// noise_multiplier, clip_norm, target_epsilon, delta, with their ranges.
std::vector<OptionSpec> accountant_options();

/// The DP options of a target: dp, noise_multiplier, clip_norm, target_epsilon, delta,
/// dp_clipping (default `clipping`), dp_physical_batch. `norm_note` ends the help of `dp`.
std::vector<OptionSpec> dp_options(const std::string& clipping = "vectorized",
                                   const std::string& norm_note = "");
DpOptions dp_options_from(const OptionValues& values);

/// `report` as JSON text, and back (throws std::invalid_argument on malformed text).
std::string dp_report_json(const DpReport& report);
DpReport dp_report_from_json(const std::string& text);

}  // namespace panoramia::dp
