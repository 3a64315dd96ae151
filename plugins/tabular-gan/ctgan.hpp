#pragma once
// CTGAN (Xu et al., NeurIPS 2019): a conditional WGAN-GP for tables, trained with the mode-specific
// normalisation of `DataTransformer`, the conditions and training-by-sampling of
// `ConditionalSampler`, and the networks of networks.hpp. Defaults are the reference
// implementation's.

#include <memory>
#include <optional>

#include <torch/optim/adam.h>

#include <panoramia/context.hpp>
#include <panoramia/data.hpp>

#include "networks.hpp"
#include "sampler.hpp"
#include "transformer.hpp"

namespace panoramia {
class DataParallel;
}

namespace panoramia::tabular_gan {

struct CtganOptions {
  int64_t embedding_dim = 128;
  std::vector<int64_t> generator_dim = {256, 256};
  std::vector<int64_t> discriminator_dim = {256, 256};
  double generator_lr = 2e-4;
  double generator_decay = 1e-6;
  double discriminator_lr = 2e-4;
  double discriminator_decay = 1e-6;
  int64_t batch_size = 500;
  int64_t discriminator_steps = 1;
  int64_t epochs = 300;
  int64_t steps_per_epoch = 0;  // 0: training rows / batch size (at least 1)
  int64_t pac = 10;
  bool log_frequency = true;
  double penalty_weight = 10.0;
  GmmOptions gmm;
};

struct StepLosses {
  double discriminator = 0;  // Wasserstein loss of the critic, without the penalty
  double penalty = 0;
  double generator = 0;  // -critic score of fakes plus the condition loss
  double condition = 0;
};

class Ctgan {
 public:
  explicit Ctgan(CtganOptions options);

  /// Fits the transformer and the sampler to `train`, encodes it and builds fresh networks.
  void prepare(const Batch& train, at::Generator& generator);
  /// Floating-point operations of one training step on one of `ranks` ranks (an estimate for
  /// Context::loop_threads).
  double step_flops(int ranks) const;
  /// One training step: `discriminator_steps` critic updates, then one generator update.
  StepLosses step(at::Generator& generator);
  /// prepare + the training loop, with progress and a log line per tenth of the epochs.
  /// Data-parallel over the ranks of ctx.communicator(): every rank draws the randomness of each
  /// global batch as one process does and trains on its shard of whole pac groups; the networks
  /// end equal to a one-process run up to floating-point summation order.
  void fit(const Batch& train, Context& ctx);
  /// Generates n rows (raw values and category codes, float64 [n, columns]); conditions follow the
  /// training frequencies of the categories.
  torch::Tensor sample(int64_t n, at::Generator& generator);

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive, at::Generator& generator);

  const CtganOptions& options() const { return options_; }
  const DataTransformer& transformer() const { return transformer_; }
  TabularGenerator& generator_net() { return generator_; }
  Discriminator& discriminator_net() { return discriminator_; }

 private:
  void build_networks(at::Generator& generator);
  /// `step` on this rank's shard of the global batch (whole networks' gradients summed over the
  /// ranks by `generator_dp` and `discriminator_dp`; null: one process). The losses returned are
  /// this rank's parts: their sums over the ranks are the global batch's.
  StepLosses step(at::Generator& generator, DataParallel* generator_dp,
                  DataParallel* discriminator_dp);

  CtganOptions options_;
  DataTransformer transformer_;
  std::unique_ptr<ConditionalSampler> sampler_;
  torch::Tensor raw_;   // training rows as read (codes used by the sampler)
  torch::Tensor data_;  // encoded training rows
  TabularGenerator generator_{nullptr};
  Discriminator discriminator_{nullptr};
  std::unique_ptr<torch::optim::Adam> generator_optimizer_, discriminator_optimizer_;
};

}  // namespace panoramia::tabular_gan
