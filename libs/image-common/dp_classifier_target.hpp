#pragma once
// A classifier target that trains with DP-SGD when option `dp` is true (dp_classifier.hpp): the
// accountant's report is kept in the checkpoint and written to dp.json next to it. Subclasses add
// dp_options() to their options and may give a taped forward pass for vectorised clipping.

#include <optional>

#include "classifier_target.hpp"
#include "dp_classifier.hpp"

namespace panoramia::image {

class DpClassifierTarget : public ClassifierTarget {
 public:
  /// The accountant's report when the network was trained (or saved) with DP-SGD.
  const std::optional<DpReport>& dp_report() const { return dp_report_; }

 protected:
  /// The network's forward pass recording its layers, for dp_clipping = vectorized; empty (the
  /// default) when the network cannot record them, so only loop clipping is accepted.
  virtual TapedForward taped_forward(ImageClassifierImpl& /*net*/) const { return {}; }
  /// train_dp when option `dp` is true, else ClassifierTarget::train.
  ClassifierRun train(ImageClassifierImpl& net, const Normalization& normalization,
                      const Batch& train, const Batch& validation, Context& ctx) override;
  void save_extra(torch::serialize::OutputArchive& archive,
                  const std::filesystem::path& dir) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  std::optional<DpReport> dp_report_;
};

}  // namespace panoramia::image
