#pragma once
// Causal language-model training of GPT-2 on fixed-length token blocks, as the reference's Hugging
// Face Trainer does it: AdamW (no weight decay on biases and LayerNorm weights), linear warmup then
// linear decay to zero, gradient-norm clipping, a seeded shuffle each epoch, and the validation
// loss after each epoch.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/adamw.h>
#include <panoramia/context.hpp>

#include "model.hpp"

namespace panoramia::gpt2 {

struct TrainOptions {
  std::int64_t epochs = 1;
  std::int64_t batch_size = 64;
  double lr = 2e-5;
  double weight_decay = 0.01;
  std::int64_t warmup_steps = 100;
  double max_grad_norm = 1.0;  // 0: no clipping
  std::int64_t eval_batch_size = 32;
};

/// Called after each epoch (1-based) with the mean training loss and the validation loss (NaN
/// without validation data).
using EpochCallback = std::function<void(std::int64_t epoch, double train_loss, double val_loss)>;

/// Trains `model` (already on `ctx.device()`) on `train` [n, T] int64 blocks. Shuffles with
/// `ctx.generator()`; reports progress as `what`.
void train_lm(Gpt2& model, const at::Tensor& train, const at::Tensor& validation,
              const TrainOptions& options, Context& ctx, const std::string& what,
              const EpochCallback& on_epoch = {});

/// AdamW over `model`'s parameters (no weight decay on biases and LayerNorm weights).
std::unique_ptr<torch::optim::AdamW> make_adamw(Gpt2& model, const TrainOptions& options);
/// The learning rate at `step` (from 1) of `total`: linear warmup, then linear decay to 0.
double learning_rate(const TrainOptions& options, std::int64_t step, std::int64_t total);

/// Mean next-token loss over every predicted token of `blocks` (eval mode, no gradients).
double mean_loss(Gpt2& model, const at::Tensor& blocks, std::int64_t batch_size);

/// The end of an epoch of `train_lm` or `train_lm_dp`: the validation loss (NaN without validation
/// blocks), a debug line, and `on_epoch`.
void end_epoch(Gpt2& model, const at::Tensor& validation, const TrainOptions& options, Context& ctx,
               const std::string& what, std::int64_t epoch, double train_loss,
               const EpochCallback& on_epoch);

/// A detached CPU copy of every parameter, and its restoration (names must match).
using ModelState = std::vector<std::pair<std::string, at::Tensor>>;
ModelState copy_state(const Gpt2& model);
void restore_state(Gpt2& model, const ModelState& state);

/// Throws naming `option` when a token id of `blocks` is outside the model's vocabulary.
void check_vocabulary(const at::Tensor& blocks, const Gpt2Config& config,
                      const std::string& option);

}  // namespace panoramia::gpt2
