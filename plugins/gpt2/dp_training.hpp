#pragma once
// DP-SGD fine-tuning of GPT-2 on token blocks (panoramia_dp), with the options and semantics of the
// image targets' DP training: Poisson batches of expected size batch_size, each block's gradient
// (of its mean next-token loss) clipped to clip_norm by one backward pass per block, Gaussian noise
// of std noise_multiplier·clip_norm on the sum, divided by the expected batch size, then the
// target's AdamW and warmup/decay schedule (post-processing). A block is the unit of privacy.
// max_grad_norm is not applied (per-example clipping replaces it). The RDP accountant's ε at δ
// covers every iterate, so every checkpoint variant.

#include <string>

#include <vector>

#include <dp/clipping.hpp>
#include <dp/dp_options.hpp>

#include "training.hpp"

namespace panoramia::gpt2 {

/// Σ_i clip(∇ loss_i) over `params` for the blocks [n, T], loss_i being block i's mean next-token
/// loss, one backward pass per block.
dp::ClippedGradients clip_blocks(Gpt2& model, const std::vector<at::Tensor>& params,
                                 const at::Tensor& blocks, double clip_norm);

/// Trains `model` (on its device) with DP-SGD on `train` [n, T] blocks; calls `on_epoch` as
/// train_lm does and fills `report`. Throws std::invalid_argument for dp_clipping = vectorized
/// (not supported for GPT-2) or options out of range.
void train_lm_dp(Gpt2& model, const at::Tensor& train, const at::Tensor& validation,
                 const TrainOptions& options, const dp::DpOptions& dp_options, Context& ctx,
                 const std::string& what, dp::DpReport& report, const EpochCallback& on_epoch = {});

}  // namespace panoramia::gpt2
