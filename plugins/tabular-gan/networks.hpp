#pragma once
// CTGAN's networks: a residual generator (each block: linear, batch norm, ReLU, concatenated with
// its input) and a PacGAN discriminator that judges `pac` rows at once (linear, leaky ReLU,
// dropout), trained as a WGAN with gradient penalty. Dropout and Gumbel noise draw from a given
// generator.

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "transformer.hpp"

namespace panoramia::tabular_gan {

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
  torch::Tensor forward(const torch::Tensor& rows);
  const DiscriminatorOptions& options() const { return options_; }

 private:
  DiscriminatorOptions options_;
  at::Generator generator_;
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Discriminator);

/// Softmax of (logits + Gumbel noise) / tau, the noise drawn from `generator`.
torch::Tensor gumbel_softmax(const torch::Tensor& logits, double tau, at::Generator& generator);
/// tanh on scalar spans, Gumbel-softmax (tau 0.2) on one-hot spans.
torch::Tensor apply_activations(const torch::Tensor& raw, const std::vector<Span>& spans,
                                at::Generator& generator);
/// Cross-entropy between the generated block of each condition's column and its category, summed
/// over the masked column and averaged over the batch.
torch::Tensor condition_loss(const torch::Tensor& raw, const torch::Tensor& cond,
                             const torch::Tensor& mask,
                             const std::vector<DiscreteColumn>& discrete);
/// WGAN-GP penalty, the gradient norm taken per pac group: lambda * mean((||grad|| - 1)^2).
torch::Tensor gradient_penalty(Discriminator& d, const torch::Tensor& real,
                               const torch::Tensor& fake, int64_t pac, double lambda,
                               at::Generator& generator);

}  // namespace panoramia::tabular_gan
