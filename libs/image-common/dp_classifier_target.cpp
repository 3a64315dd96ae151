#include "dp_classifier_target.hpp"

#include <fstream>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::image {

ClassifierRun DpClassifierTarget::train(ImageClassifierImpl& net,
                                        const Normalization& normalization, const Batch& train,
                                        const Batch& validation, Context& ctx) {
  dp_report_.reset();
  const auto& o = ctx.options();
  if (!o.get_bool("dp")) return ClassifierTarget::train(net, normalization, train, validation, ctx);
  DpReport report;
  auto run = train_dp(net, normalization, train, validation, classifier_recipe_from_options(o),
                      dp_options_from(o), ctx, report, model_name(), taped_forward(net));
  dp_report_ = report;
  return run;
}

void DpClassifierTarget::save_extra(torch::serialize::OutputArchive& archive,
                                    const std::filesystem::path& dir) const {
  if (!dp_report_) return;
  const std::string json = dp_report_json(*dp_report_);
  archive.write("dp_report", c10::IValue(json));
  std::ofstream out(dir / "dp.json");
  out << json;
  if (!out) throw std::runtime_error("cannot write " + (dir / "dp.json").string());
}

void DpClassifierTarget::load_extra(torch::serialize::InputArchive& archive) {
  dp_report_.reset();
  c10::IValue json;
  if (archive.try_read("dp_report", json)) dp_report_ = dp_report_from_json(json.toStringRef());
}

}  // namespace panoramia::image
