#pragma once
// GoogleTest checks shared by the tests of every DP-SGD trainer (mlp, wrn, vit, gpt2): the report
// agrees with the accountant and dp.json holds it; a clipped sum equals the one computed example
// by example. Include from tests only (it needs GoogleTest).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "dp/clipping.hpp"
#include "dp/dp_options.hpp"
#include "dp/rdp.hpp"

namespace panoramia::dp::testing {

/// The run took `steps` steps at sampling rate `sample_rate`, and its ε is the accountant's for
/// the report's own rate, noise multiplier and steps at `delta` (the same float64 computation:
/// equal to the last bit).
inline void expect_accounted(const DpReport& r, std::int64_t steps, double sample_rate,
                             double delta) {
  EXPECT_EQ(r.steps, steps);
  EXPECT_DOUBLE_EQ(r.sample_rate, sample_rate);
  EXPECT_DOUBLE_EQ(r.delta, delta);
  EXPECT_DOUBLE_EQ(r.epsilon,
                   dp_sgd_epsilon(r.sample_rate, r.noise_multiplier, r.steps, delta).epsilon);
}

/// dp.json in `dir` (written by the trainer's save) as JSON, after checking that it holds the
/// report's ε and step count; an empty object when it cannot be read.
inline nlohmann::json expect_dp_json(const std::filesystem::path& dir, const DpReport& r) {
  std::ifstream in(dir / "dp.json");
  if (!in.good()) {
    ADD_FAILURE() << "no dp.json in " << dir;
    return nlohmann::json::object();
  }
  const auto json = nlohmann::json::parse(in);
  EXPECT_DOUBLE_EQ(json.at("epsilon").get<double>(), r.epsilon);
  EXPECT_EQ(json.at("steps").get<std::int64_t>(), r.steps);
  return json;
}

/// `got` against the clipped sum computed from per-example gradients: norms[i] = ‖g_i‖ and
/// Σ_i min(1, clip / (‖g_i‖ + 1e-6)) g_i, with `grads[i][k]` example i's gradient of parameter k,
/// all in float64. The two differ only in rounding order, by ≤ 2·γ·u64·(scale) with γ the
/// roundings along a path: the norm's P squares (P < 1e5 parameters in the callers) plus a few
/// hundred terms of the widest sums, so ≲ 2e-11 relative; 1e-9 relative to 1 + the largest value
/// leaves 50x of that, and a clipping bug (a missing or wrong factor, another example's norm)
/// moves them by ≥ 1e-3. Prints the largest relative difference of the sums.
inline void expect_clipped_sum(const ClippedGradients& got,
                               const std::vector<std::vector<at::Tensor>>& grads,
                               const std::vector<double>& norms, double clip) {
  ASSERT_EQ(got.norms.numel(), static_cast<std::int64_t>(norms.size()));
  for (std::size_t i = 0; i < norms.size(); ++i)
    EXPECT_NEAR(got.norms[static_cast<std::int64_t>(i)].item<double>(), norms[i],
                1e-9 * (1 + norms[i]));
  double worst = 0;
  for (std::size_t k = 0; k < got.sum.size(); ++k) {
    auto expected = torch::zeros_like(got.sum[k]);
    for (std::size_t i = 0; i < norms.size(); ++i)
      expected += std::min(1.0, clip / (norms[i] + 1e-6)) * grads[i][k];
    const double diff = (got.sum[k] - expected).abs().max().item<double>();
    const double scale = 1 + expected.abs().max().item<double>();
    EXPECT_LT(diff, 1e-9 * scale) << "parameter " << k;
    worst = std::max(worst, diff / scale);
  }
  std::cout << "largest |clipped sum - example loop| / (1 + max|sum|) = " << worst
            << " (tolerance 1e-9)\n";
}

}  // namespace panoramia::dp::testing
