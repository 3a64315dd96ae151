#pragma once
// The `stylegan2` generator plugin's model: training (non-saturating logistic loss, lazy R1,
// generator EMA, Adam with the reference's lazy-regularisation adjustment), resumable snapshots,
// labelled sampling and PNG grids.

#include <filesystem>
#include <memory>
#include <string>

#include <torch/optim/adam.h>
#include <panoramia/data_parallel.hpp>
#include <panoramia/interfaces.hpp>

#include "ada.hpp"
#include "networks.hpp"
#include "presets.hpp"

namespace panoramia::stylegan2 {

/// Statistics of one training step (for tests and progress).
struct StepLosses {
  double g_loss = 0, d_loss = 0, r1 = 0, augment_p = 0;
};

class StyleGan2 final : public panoramia::Generator {
 public:
  void fit(const Batch& train, Context& ctx) override;
  Batch sample(std::int64_t n, Context& ctx) override;
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  void load(const std::filesystem::path& dir, Context& ctx) override;

  /// Builds fresh networks and optimisers for images [channels, side, side] and `classes`.
  void initialize(const Preset& preset, std::int64_t channels, std::int64_t side,
                  std::int64_t classes, Context& ctx);
  /// One G step, one D step and, every r1_interval steps, one R1 step on reals in [0,1] with
  /// labels; updates the EMA generator. `reals` must hold batch_size images: the global batch.
  /// With several ranks (ctx.communicator()) every rank draws the latents, labels, noise and
  /// augmentation of the whole batch, computes its contiguous shard of the rows and the gradients
  /// are summed (fit() holds a DataParallel per network for this; called on its own, train_step
  /// makes them for the step). The returned losses are the global batch's on every rank.
  StepLosses train_step(const at::Tensor& reals, const at::Tensor& labels, Context& ctx);
  /// D's logistic loss softplus(D(fake)) + softplus(-D(real)) on given images in [0,1] of the
  /// data's shape (no update), for tests and diagnostics.
  double discriminator_loss(const at::Tensor& reals, const at::Tensor& real_labels,
                            const at::Tensor& fakes, const at::Tensor& fake_labels, Context& ctx);

  /// Images in [0,1] of the data's shape from the EMA generator for latents z and labels.
  at::Tensor synthesize(const at::Tensor& z, const at::Tensor& labels, Context& ctx);

  GeneratorNet& generator() { return g_; }
  Discriminator& discriminator() { return d_; }
  std::int64_t images_seen() const { return cur_nimg_; }
  /// The current ADA probability (0 without ADA).
  double augment_probability() const { return augment_.p(); }

 private:
  at::Tensor to_network(const at::Tensor& reals) const;  // [0,1] data -> [-1,1] padded
  at::Tensor from_network(const at::Tensor& images, bool quantize) const;
  at::Tensor random_labels(std::int64_t n, at::Generator& generator) const;
  void update_ema();
  std::string fingerprint(const Batch& train) const;
  void write(const std::filesystem::path& file, Context& ctx, const std::string& fingerprint,
             const at::Tensor& order, std::int64_t cursor) const;
  /// Restores networks from a checkpoint; with `order` also the optimisers, the data order and
  /// cursor and the context's generator state (resuming training).
  void read(const std::filesystem::path& file, Context& ctx, at::Tensor* order,
            std::int64_t* cursor);
  static std::string read_fingerprint(const std::filesystem::path& file);
  void write_grid(const Batch& train, Context& ctx);
  /// Whether this rank writes files meant to outlive the run (rank 0).
  static bool writes(Context& ctx) { return ctx.communicator().rank() == 0; }

  Preset preset_;
  std::int64_t channels_ = 0, side_ = 0, classes_ = 0;
  at::Tensor label_pool_;  // training labels, drawn from for fake conditioning
  GeneratorNet g_{nullptr}, g_ema_{nullptr};
  Discriminator d_{nullptr};
  std::unique_ptr<torch::optim::Adam> g_opt_, d_opt_;
  std::int64_t cur_nimg_ = 0, step_ = 0;
  AdaptiveAugment augment_;
  DataParallel *g_dp_ = nullptr, *d_dp_ = nullptr;  // set by fit() while it trains
};

}  // namespace panoramia::stylegan2
