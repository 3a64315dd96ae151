#pragma once
// A fully connected network with ReLU between layers, and its training loop (Adam, mini-batches,
// per-epoch validation keeping the best state).

#include <functional>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <panoramia/context.hpp>

namespace panoramia::mlp {

struct MlpOptions {
  int64_t inputs = 0;
  std::vector<int64_t> hidden;
  int64_t outputs = 1;  // 1: a sigmoid/BCE output; k>1: softmax/cross-entropy over k classes
  double dropout = 0.0;
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);
  /// Logits: `[n]` for one output, `[n, k]` otherwise.
  torch::Tensor forward(const torch::Tensor& x);
  const MlpOptions& options() const { return options_; }
  /// The layer stack (Linear, ReLU, Dropout); forward() is layers()->forward(x), squeezed to [n]
  /// for one output. DP-SGD clips per-example gradients on it (dp_training.hpp).
  torch::nn::Sequential& layers() { return layers_; }

 private:
  MlpOptions options_;
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(Mlp);

/// Per-example loss: BCE with logits for one output (labels 0/1), cross-entropy otherwise.
torch::Tensor per_example_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// Parameters and buffers of a module, deep-copied.
using State = std::vector<torch::Tensor>;
State copy_state(torch::nn::Module& module);
void restore_state(torch::nn::Module& module, const State& state);

struct TrainOptions {
  int64_t epochs = 10;
  int64_t batch_size = 32;
  double lr = 1e-3;
  double weight_decay = 0.0;
  /// Stop when the validation loss has not improved for this many epochs (0: never).
  int64_t patience = 0;
};

struct TrainResult {
  State best;  // state with the lowest validation loss (the final state without validation data)
  int64_t best_epoch = 0;
  double best_validation_loss = 0;
  double final_train_loss = 0;
};

/// Trains `net` for one epoch and returns its mean training loss.
using EpochFn = std::function<double(int64_t epoch)>;

/// The epoch loop shared by every training mode: runs `epoch` for options.epochs epochs, keeps the
/// state with the lowest loss on (x_val, y_val) (may be undefined or empty: then the final state),
/// stops early after options.patience epochs without improvement, and reports progress.
TrainResult train_epochs(Mlp& net, const EpochFn& epoch, const torch::Tensor& x_val,
                         const torch::Tensor& y_val, const TrainOptions& options, Context& ctx,
                         const std::string& what);

/// Trains `net` on (x, y) with Adam on shuffled mini-batches; `x_val`/`y_val` may be undefined or
/// empty. Shuffles with `ctx.generator()` and reports progress per epoch.
TrainResult train(Mlp& net, const torch::Tensor& x, const torch::Tensor& y,
                  const torch::Tensor& x_val, const torch::Tensor& y_val,
                  const TrainOptions& options, Context& ctx, const std::string& what);

/// Mean loss of `net` on (x, y) in eval mode, no gradients, in batches.
double evaluate_loss(Mlp& net, const torch::Tensor& x, const torch::Tensor& y);
/// Logits of `net` on x in eval mode, no gradients, in batches.
torch::Tensor predict_logits(Mlp& net, const torch::Tensor& x);

}  // namespace panoramia::mlp
