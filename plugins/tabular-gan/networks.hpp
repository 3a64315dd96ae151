#pragma once
// CTGAN's networks: a residual generator (each block: linear, batch norm, ReLU, concatenated with
// its input) and a PacGAN discriminator that judges `pac` rows at once (linear, leaky ReLU,
// dropout), trained as a WGAN with gradient penalty. Dropout and Gumbel noise draw from a given
// generator.
//
// Data-parallel training: a rank may hold only part of a global batch (a `Part`). Every random
// draw (Gumbel noise, dropout masks, penalty weights) is still made for the whole global batch,
// and the part's rows are kept, so all ranks draw the same numbers as one process would; losses
// are means over the global batch (`global_mean`).

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "transformer.hpp"

namespace panoramia::tabular_gan {

/// Rows [begin, begin + rows given) of a global batch of `total` rows; total < 0: the rows given
/// are the whole batch.
struct Part {
  int64_t total = -1;
  int64_t begin = 0;
};

struct GeneratorOptions {
  int64_t noise_dim = 128;
  int64_t cond_dim = 0;
  std::vector<int64_t> hidden = {256, 256};
  int64_t data_dim = 0;
};

class ResidualImpl : public torch::nn::Module {
 public:
  ResidualImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc_{nullptr};
  torch::nn::BatchNorm1d bn_{nullptr};
};
TORCH_MODULE(Residual);

class TabularGeneratorImpl : public torch::nn::Module {
 public:
  explicit TabularGeneratorImpl(const GeneratorOptions& options);
  /// Raw outputs (before activations), [B, data_dim].
  torch::Tensor forward(const torch::Tensor& noise_and_cond);
  const GeneratorOptions& options() const { return options_; }

 private:
  GeneratorOptions options_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(TabularGenerator);

struct DiscriminatorOptions {
  int64_t input_dim = 0;  // data_dim + cond_dim
  std::vector<int64_t> hidden = {256, 256};
  int64_t pac = 10;
  double dropout = 0.5;
};

class DiscriminatorImpl : public torch::nn::Module {
 public:
  DiscriminatorImpl(const DiscriminatorOptions& options, at::Generator generator);
  /// One score per group of `pac` consecutive rows: [B / pac, 1]. B must be a multiple of pac.
  /// `groups`: which groups of the global batch `rows` holds (the dropout masks are drawn for the
  /// global batch and these groups' rows kept).
  torch::Tensor forward(const torch::Tensor& rows, Part groups = {});
  const DiscriminatorOptions& options() const { return options_; }

 private:
  DiscriminatorOptions options_;
  at::Generator generator_;
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Discriminator);

/// Softmax of (logits + Gumbel noise) / tau, the noise drawn from `generator` (for the global
/// batch when `rows` says `logits` is part of one).
torch::Tensor gumbel_softmax(const torch::Tensor& logits, double tau, at::Generator& generator,
                             Part rows = {});
/// tanh on scalar spans, Gumbel-softmax (tau 0.2) on one-hot spans.
torch::Tensor apply_activations(const torch::Tensor& raw, const std::vector<Span>& spans,
                                at::Generator& generator, Part rows = {});
/// The mean of `x` over a global batch of `total` rows of which `x` holds some: x.mean() when it
/// holds them all, else its mean weighted by its share of the rows (its sum, zero, when empty), so
/// the ranks' values sum to the global mean.
torch::Tensor global_mean(const torch::Tensor& x, int64_t total);
/// Cross-entropy between the generated block of each condition's column and its category, summed
/// over the masked column and averaged over the batch (of `total_rows` rows when `raw` is part of
/// a global batch; < 0: raw's rows).
torch::Tensor condition_loss(const torch::Tensor& raw, const torch::Tensor& cond,
                             const torch::Tensor& mask, const std::vector<DiscreteColumn>& discrete,
                             int64_t total_rows = -1);
/// WGAN-GP penalty, the gradient norm taken per pac group: lambda * mean((||grad|| - 1)^2).
/// `groups`: which pac groups of the global batch `real` and `fake` hold (the interpolation
/// weights are drawn for the global batch; the mean is over the global groups, `global_mean`).
torch::Tensor gradient_penalty(Discriminator& d, const torch::Tensor& real,
                               const torch::Tensor& fake, int64_t pac, double lambda,
                               at::Generator& generator, Part groups = {});

}  // namespace panoramia::tabular_gan
