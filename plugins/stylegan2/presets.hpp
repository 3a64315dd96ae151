#pragma once
// StyleGAN2 presets and options. `cifar` expands the reference's `--cfg=cifar` (docs/method.md
// §3.5); `tiny` is a small network that trains in CPU minutes on 28x28 or 32x32 images.

#include <string>
#include <vector>

#include <panoramia/options.hpp>

#include "networks.hpp"

namespace panoramia::stylegan2 {

struct TrainingOptions {
  std::int64_t batch_size = 64;
  double lr = 0.0025;  // G and D
  double beta1 = 0.0, beta2 = 0.99;
  double r1_gamma = 0.01;
  std::int64_t r1_interval = 16;    // lazy R1: every 16 minibatches
  std::int64_t g_reg_interval = 4;  // the reference keeps G's lazy-regularisation optimiser
                                    // adjustment even with path-length regularisation off
  double ema_kimg = 500;
  double ema_rampup = 0.05;       // 0: none
  double kimg = 100000;           // training length in thousands of real images shown to D
  bool mirror = false;            // x-flip augmentation of the reals
  double snapshot_kimg = 0;       // write a resumable snapshot this often (0: only at the end)
  bool ada = true;                // adaptive discriminator augmentation
  double ada_target = 0.6;        // wanted E[sign(D(real))]
  double ada_kimg = 500;          // thousands of images over which p can move by 1
  std::int64_t ada_interval = 4;  // minibatches between adjustments of p
};

struct Preset {
  NetworkOptions network;
  TrainingOptions training;
};

/// "cifar" or "tiny"; throws for another name.
Preset preset(const std::string& name);

/// Option specs: `preset`, then overrides whose empty default means "the preset's value".
std::vector<OptionSpec> stylegan2_options();

/// The preset named by the options with every set override applied, for images with `channels`
/// channels of side `side` (the network resolution follows option `layout`), and `classes`.
Preset configure(const OptionValues& options, std::int64_t channels, std::int64_t side,
                 std::int64_t classes);

}  // namespace panoramia::stylegan2
