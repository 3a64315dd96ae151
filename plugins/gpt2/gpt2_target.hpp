#pragma once
// The `gpt2` target (and helper): GPT-2 fine-tuned on the target's token blocks (or trained from
// scratch, or loaded from a Hugging Face directory). The reference audits checkpoints after
// different numbers of epochs: `checkpoints = 2,5,10` keeps the model after those epochs as the
// variants "epoch2", "epoch5", "epoch10"; `keep_best` adds "best" (lowest validation loss), first,
// which is what the helper uses. Side signals: the T-1 per-token next-token losses of each block
// (`loss_vector`) and their mean (`loss`). With dp = true it trains by DP-SGD (dp_training.hpp) and
// keeps the accountant's report in dp.json beside the saved variants.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <panoramia/interfaces.hpp>

#include <dp/dp_options.hpp>

#include "model.hpp"
#include "training.hpp"

namespace panoramia::gpt2 {

class Gpt2Target final : public TargetAdapter {
 public:
  static std::vector<OptionSpec> option_specs();

  bool can_fit() const override { return true; }
  void fit(const Batch& train, const Batch& validation, Context& ctx) override;
  std::vector<std::string> variants() const override { return variants_; }
  SideSignals side_signals(const Batch& samples, const std::string& variant, Context& ctx) override;
  /// One Hugging Face-layout directory per variant plus gpt2-target.json listing them.
  void save(const std::filesystem::path& dir, Context& ctx) const override;
  /// A directory written by `save`, or a Hugging Face GPT-2 directory (one variant, "final").
  void load(const std::filesystem::path& dir, Context& ctx) override;

  /// The accountant's report when the model was trained (or saved) with DP-SGD.
  const std::optional<dp::DpReport>& dp_report() const { return dp_report_; }

 private:
  void activate(const std::string& variant);

  Gpt2 model_{nullptr};
  std::vector<std::string> variants_{"final"};
  std::map<std::string, ModelState> states_;              // after fit
  std::map<std::string, std::filesystem::path> sources_;  // after load
  std::string active_;
  std::optional<dp::DpReport> dp_report_;
};

/// Throws unless `batch` holds text token blocks [n, T] (int64) with T > 1; `what` names the data.
void check_text_batch(const Batch& batch, const std::string& what);

}  // namespace panoramia::gpt2
