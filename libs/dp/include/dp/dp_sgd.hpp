#pragma once
// DP-SGD (Abadi et al. 2016) with Poisson subsampling, as Opacus runs it: each step draws a batch
// with every example included independently with probability q, clips each example's gradient to
// norm C (clipping.hpp), adds N(0, σ²C²) noise to the sum, divides by the expected batch size q·N,
// and lets an ordinary optimizer (SGD or Adam) take the step. Every step, even on an empty batch,
// is recorded in an RDP accountant (rdp.hpp). All randomness comes from the generator passed in.

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "dp/clipping.hpp"
#include "dp/rdp.hpp"
#include "panoramia/distributed.hpp"

namespace panoramia::dp {

struct DpSgdOptions {
  double noise_multiplier = 1.0;  // σ: noise std / clipping norm
  double clip_norm = 1.0;         // C
  int64_t dataset_size = 0;       // N
  int64_t expected_batch = 0;     // q·N; the sampling rate is q = expected_batch / N
};

/// The options of a DP-SGD run over `n` examples for `epochs` epochs: expected batch min(batch, n),
/// and the noise multiplier solved for `target_epsilon` at `delta` over all the run's steps when
/// target_epsilon > 0 (and the run has steps), else `noise_multiplier`.
DpSgdOptions plan(int64_t n, int64_t batch, int64_t epochs, double noise_multiplier,
                  double clip_norm, double target_epsilon, double delta);

/// Poisson subsampling of {0, ..., n-1}: each index independently with probability `q`, drawn from
/// `generator`; returns the chosen indices (int64, ascending, possibly empty).
torch::Tensor poisson_sample(int64_t n, double q, at::Generator& generator);

/// Throws std::invalid_argument naming `where` and the offending submodule when `module` contains
/// a BatchNorm layer: batch statistics mix examples, so per-example clipping bounds nothing. Image
/// models under DP replace BatchNorm with GroupNorm (as Opacus' ModuleValidator.fix does).
void reject_batch_norm(const torch::nn::Module& module, const std::string& where);

/// An optimizer for privatised gradients: "sgd" (plain, as Opacus' DP examples) or "adam".
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name,
                                                        const std::vector<torch::Tensor>& params,
                                                        double lr);

/// The privatisation step and its accounting for one set of parameters.
class DpSgd {
 public:
  /// Throws std::invalid_argument for σ < 0, C <= 0, N < 1 or an expected batch outside [1, N].
  DpSgd(std::vector<torch::Tensor> parameters, const DpSgdOptions& options,
        std::vector<double> orders = default_orders());

  double sample_rate() const { return q_; }
  /// Steps per epoch: ceil(N / expected batch), so an epoch sees N examples in expectation.
  int64_t steps_per_epoch() const;
  /// Indices of the next Poisson batch.
  torch::Tensor sample(at::Generator& generator) const;
  /// Sets each parameter's .grad to (clipped.sum + N(0, σ²C²)) / (q·N) and records one step in the
  /// accountant; the caller then calls its optimizer's step().
  ///
  /// Data-parallel: every rank samples the same Poisson batch (same generator state), clips its
  /// share of the examples (panoramia::shard_range) and passes its partial sum; the sums over the
  /// ranks are added here before the noise, which every rank draws alike from its generator. The
  /// privatised gradient is then the one-process one, up to summation order, on every rank.
  void privatize(const ClippedGradients& clipped, at::Generator& generator,
                 Communicator& comm = SingleProcessCommunicator::instance());
  const RdpAccountant& accountant() const { return accountant_; }
  PrivacySpent spent(double delta) const { return accountant_.spent(delta); }
  const DpSgdOptions& options() const { return options_; }

 private:
  std::vector<torch::Tensor> parameters_;
  DpSgdOptions options_;
  double q_;
  RdpAccountant accountant_;
};

/// Copies what `dp_sgd`'s run spent and how it was set up into a report (dp::DpReport or a
/// plugin's own report with the same fields): ε at `delta`, the RDP order, σ, C, q, the expected
/// batch, N, the steps taken and the target ε (0: none).
template <typename Report>
void record_spent(const DpSgd& dp_sgd, double delta, double target_epsilon, Report& report) {
  const auto spent = dp_sgd.spent(delta);
  const auto& o = dp_sgd.options();
  report.epsilon = spent.epsilon;
  report.rdp_order = spent.order;
  report.delta = delta;
  report.noise_multiplier = o.noise_multiplier;
  report.clip_norm = o.clip_norm;
  report.sample_rate = dp_sgd.sample_rate();
  report.target_epsilon = target_epsilon;
  report.expected_batch = o.expected_batch;
  report.dataset_size = o.dataset_size;
  report.steps = dp_sgd.accountant().steps();
}

}  // namespace panoramia::dp
