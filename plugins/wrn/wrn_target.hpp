#pragma once
// The `wrn` target adapter: a Wide ResNet trained with the classifier recipe options.

#include <optional>
#include <vector>

#include "classifier_target.hpp"
#include "dp_training.hpp"

namespace panoramia::wrn {

/// Options of the `wrn` target: depth, width, dropout, normalisation layers, the classifier recipe
/// (defaults: the reference's CIFAR-10 recipe, method §3.6) and DP-SGD (dp_training.hpp).
std::vector<OptionSpec> wrn_options();

class WrnTarget final : public image::ClassifierTarget {
 public:
  /// The accountant's report when the network was trained (or saved) with DP-SGD.
  const std::optional<DpReport>& dp_report() const { return dp_report_; }

 protected:
  std::string model_name() const override { return "wrn"; }
  image::Architecture architecture(const OptionValues& options, std::int64_t channels,
                                   std::int64_t height, std::int64_t width,
                                   std::int64_t classes) const override;
  image::ImageClassifier build(const image::Architecture& architecture) const override;
  image::ClassifierRun train(image::ImageClassifierImpl& net,
                             const image::Normalization& normalization, const Batch& train,
                             const Batch& validation, Context& ctx) override;
  /// Keeps the DP report in the checkpoint and writes dp.json next to it.
  void save_extra(torch::serialize::OutputArchive& archive,
                  const std::filesystem::path& dir) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  std::optional<DpReport> dp_report_;
};

}  // namespace panoramia::wrn
