#pragma once
// The raw scores of the reference-model and LLM attacks, as pure functions of the side model's and
// the reference models' signals (higher: more likely a member). Every function takes and returns
// float64 tensors and checks its inputs, throwing std::invalid_argument with one sentence.
//
// Notation: the side model is the one whose leakage is measured (the target for an MIA, helper 1
// for the baseline); the references are helpers 2..K, trained on synthetic data only, so their
// signals are "OUT" signals for every real sample. p(x) = exp(-loss(x)) is the model's probability
// of x's label (for a text block, the geometric mean of its tokens' probabilities).

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace panoramia::attacks {

/// The references' losses as float64 [K-1, n] (one row per reference), checked against `n`.
/// `attack` names the attack in the error for a missing reference.
at::Tensor stack_reference_losses(const std::vector<at::Tensor>& losses, std::int64_t n,
                                  const char* attack);

/// Calibrated loss (Watson et al. 2022): -(loss(x) - mean over references of loss_ref(x)).
at::Tensor calibrated_loss(const at::Tensor& side_loss, const at::Tensor& reference_losses);

/// The references' loss ratio (Carlini et al. 2021, "reference model" comparison):
/// -loss(x) / mean over references of loss_ref(x). Losses must be positive.
at::Tensor reference_ratio(const at::Tensor& side_loss, const at::Tensor& reference_losses);

/// RMIA, offline (Zarifzadeh et al. 2024). With Pr(x|θ) = p(x) under the side model and
/// Pr(x) = ((1 + a) · mean_ref p_ref(x) + (1 − a)) / 2 (the offline approximation of the average
/// over IN and OUT models from OUT models only), the ratio r(x) = Pr(x|θ) / Pr(x); the score of x
/// is the fraction of population samples z with r(x) / r(z) > gamma.
/// `population_side` [m] and `population_references` [K-1, m] are the population's losses.
at::Tensor rmia_offline(const at::Tensor& side_loss, const at::Tensor& reference_losses,
                        const at::Tensor& population_side, const at::Tensor& population_references,
                        double a, double gamma);

/// How LiRA offline estimates the spread of the references' values.
enum class LiraVariance { kPerExample, kGlobal };

/// LiRA, offline (Carlini et al. 2022): φ = log(p / (1 − p)) of each model's p(x); the references'
/// φ(x) fitted by a Gaussian N(μ(x), σ²); the score is the one-sided standardised value
/// (φ_side(x) − μ(x)) / σ, a monotone transform of Pr[Z ≤ φ_side(x)] for Z ~ N(μ(x), σ²).
/// kPerExample: σ(x) from x's own references (needs at least two); kGlobal: one σ pooled over
/// every example's deviations from its own mean (Carlini et al.'s choice for few references).
at::Tensor lira_offline(const at::Tensor& side_loss, const at::Tensor& reference_losses,
                        LiraVariance variance);

/// The logit-scaled confidence log(p / (1 − p)) with p = exp(-loss), computed stably.
at::Tensor logit_confidence(const at::Tensor& loss);

/// Min-k% prob (Shi et al. 2024): the mean of the lowest fraction `k` of a block's token
/// log-probabilities, i.e. minus the mean of its ceil(k · T) largest per-token losses.
/// `token_losses` [n, T].
at::Tensor min_k_prob(const at::Tensor& token_losses, double k);

/// zlib-compressed size in bytes of each row of int64 `tokens` [n, T], each token written as an
/// unsigned LEB128 varint (the attack sees token ids, not text; compressing the ids measures the
/// same repetitiveness the text's zlib entropy does). zlib level 9.
at::Tensor zlib_lengths(const at::Tensor& tokens);

/// zlib ratio (Carlini et al. 2021): -loss(x) / zlib length of x (a low loss for a block that does
/// not compress well is the sign of memorisation).
at::Tensor zlib_ratio(const at::Tensor& side_loss, const at::Tensor& lengths);

}  // namespace panoramia::attacks
