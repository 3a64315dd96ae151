#pragma once
// A target/helper adapter for image classifiers trained in-process (wrn, vit): training with the
// recipe options, the "best" (validation accuracy) and "final" states as variants, per-example loss
// at the label (and logits) as side signals, and checkpoints. Subclasses only say how to build the
// network.

#include <map>
#include <string>
#include <vector>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <panoramia/trained_target.hpp>

#include "classifier.hpp"

namespace panoramia::image {

/// Architecture parameters as text, saved in the checkpoint so `load` rebuilds the same network.
using Architecture = std::map<std::string, std::string>;

/// The options every classifier target has (training recipe, normalisation, inference), with the
/// given defaults; subclasses add their architecture options.
std::vector<OptionSpec> classifier_target_options(const ClassifierRecipe& defaults,
                                                  const std::string& normalization = "auto");
ClassifierRecipe classifier_recipe_from_options(const OptionValues& options);

class ClassifierTarget : public BestAndFinalTarget {
 public:
  void fit(const Batch& train, const Batch& validation, Context& ctx) override;
  SideSignals side_signals(const Batch& samples, const std::string& variant, Context& ctx) override;
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  void load(const std::filesystem::path& dir, Context& ctx) override;

  /// The network (after fit or load), for tests.
  const ImageClassifier& network() const { return net_; }

 protected:
  /// Short name used for the checkpoint file and in messages ("wrn").
  virtual std::string model_name() const = 0;
  /// Architecture chosen by the options for images [channels, height, width] and `classes`.
  virtual Architecture architecture(const OptionValues& options, std::int64_t channels,
                                    std::int64_t height, std::int64_t width,
                                    std::int64_t classes) const = 0;
  virtual ImageClassifier build(const Architecture& architecture) const = 0;
  /// Called after `build` in `fit`, before training (e.g. to load pretrained weights and freeze).
  virtual void prepare(ImageClassifierImpl& /*net*/, Context& /*ctx*/) {}
  /// Trains the prepared network (on ctx.device()); by default train_classifier with the recipe
  /// options. A target with another training procedure (e.g. DP-SGD) overrides it.
  virtual ClassifierRun train(ImageClassifierImpl& net, const Normalization& normalization,
                              const Batch& train, const Batch& validation, Context& ctx);
  /// Called by `save` after writing the checkpoint archive's own entries and by `load` after
  /// reading them, so a subclass can keep more in the checkpoint (and write files next to it).
  virtual void save_extra(torch::serialize::OutputArchive& /*archive*/,
                          const std::filesystem::path& /*dir*/) const {}
  virtual void load_extra(torch::serialize::InputArchive& /*archive*/) {}

 private:
  std::filesystem::path checkpoint(const std::filesystem::path& dir) const;

  Architecture architecture_;
  Normalization normalization_;
  ImageClassifier net_;
  ModelState best_, final_;
  std::string active_;  // which state the network holds now
};

}  // namespace panoramia::image
