#pragma once
// Image classifiers: the base class the image targets derive from, their training loop (the
// reference's recipe: augmentation, normalisation, optimiser and schedule, best state kept on
// validation accuracy) and batched inference.

#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <panoramia/context.hpp>
#include <panoramia/data.hpp>

#include "augment.hpp"
#include "model_state.hpp"
#include "normalization.hpp"
#include "optimizer.hpp"
#include "random.hpp"

namespace panoramia::image {

/// A network mapping normalised images [n,C,H,W] to class logits [n,classes].
class ImageClassifierImpl : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  /// Draws fresh parameters from `generator` (LibTorch's defaults unless a model overrides it).
  virtual void reset_parameters(at::Generator& generator) { default_init(*this, generator); }
};
using ImageClassifier = std::shared_ptr<ImageClassifierImpl>;

struct ClassifierRecipe {
  std::int64_t epochs = 150;
  std::int64_t batch_size = 32;
  OptimizerRecipe optimizer;
  AugmentOptions augment;
  std::int64_t eval_every = 1;  // epochs between validation passes (the last epoch always has one)
};

struct ClassifierRun {
  ModelState best;   // highest validation accuracy (the final state without validation data)
  ModelState final;  // after the last epoch
  std::int64_t best_epoch = 0;
  double best_validation_accuracy = 0;
  double final_train_accuracy = 0;
  double final_train_loss = 0;
};

/// The end of epoch `epoch` (0-based) of a classifier training run: every `recipe.eval_every`
/// epochs and after the last one, the accuracy on `validation` (when not empty) is measured and
/// the state kept as `run.best` when it beats the best so far; `progress` advances with the
/// epoch's training loss and accuracy (`run.final_train_*`) and the validation accuracy.
void end_epoch(ImageClassifierImpl& net, const Normalization& normalization,
               const Batch& validation, const ClassifierRecipe& recipe, std::int64_t epoch,
               c10::Device device, ClassifierRun& run, Progress& progress);
/// After the last epoch: `run.final`, and without validation data `run.best` = the final state.
void finish_run(ImageClassifierImpl& net, const Batch& validation, const ClassifierRecipe& recipe,
                ClassifierRun& run);

/// Trains `net` (already on `device`) on `train` with mini-batches shuffled and augmented through
/// `ctx.generator()`, normalising with `normalization`; `validation` may be empty.
ClassifierRun train_classifier(ImageClassifierImpl& net, const Normalization& normalization,
                               const Batch& train, const Batch& validation,
                               const ClassifierRecipe& recipe, Context& ctx,
                               const std::string& what);

/// Logits of `net` on raw images `x` (in [0,1]) in eval mode without gradients, in batches, on
/// `device`; the result is float32 on the CPU.
at::Tensor predict_logits(ImageClassifierImpl& net, const Normalization& normalization,
                          const at::Tensor& x, c10::Device device, std::int64_t batch_size = 256);

/// Per-example cross-entropy of `logits` [n,k] at `labels` [n] (float32 [n]).
at::Tensor per_example_loss(const at::Tensor& logits, const at::Tensor& labels);

/// Fraction of rows whose arg-max is the label.
double accuracy(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace panoramia::image
