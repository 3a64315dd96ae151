#include "gpt2_target.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "checkpoint.hpp"
#include "dp_training.hpp"
#include "model_options.hpp"

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;
constexpr const char* kTargetManifest = "gpt2-target.json";
constexpr const char* kDpReport = "dp.json";

}  // namespace

void check_text_batch(const Batch& batch, const std::string& what) {
  if (!batch.x.defined() || batch.x.dim() != 2 || batch.x.scalar_type() != torch::kInt64 ||
      batch.x.size(1) < 2)
    throw std::invalid_argument(what + " must be text token blocks [n, T] (int64, T > 1), got " +
                                (batch.modality.empty() ? "no" : batch.modality) + " samples");
}

std::vector<OptionSpec> Gpt2Target::option_specs() {
  auto specs = model_option_specs();
  for (auto& s : train_option_specs("200")) specs.push_back(s);
  specs.push_back(option("checkpoints", OptionType::kIntList, "",
                         "epochs after which the model is kept as a variant \"epoch<k>\" "
                         "(empty: only the final model, variant \"final\")"));
  specs.push_back(option("keep_best", OptionType::kBool, "false",
                         "also keep the epoch of lowest validation loss as variant \"best\" "
                         "(listed first, so a helper uses it)"));
  for (auto& s : dp::dp_options("loop",
                                "; a token block is the unit of privacy, max_grad_norm is "
                                "not applied"))
    specs.push_back(std::move(s));
  return specs;
}

void Gpt2Target::fit(const Batch& train, const Batch& validation, Context& ctx) {
  const auto& o = ctx.options();
  check_text_batch(train, "the target's training data");
  const bool has_validation = validation.size() > 0;
  if (has_validation) check_text_batch(validation, "the target's validation data");
  const auto options = train_options(o);
  std::set<std::int64_t> checkpoints;
  for (const auto k : o.get_int_list("checkpoints")) {
    if (k < 1 || k > options.epochs)
      throw std::invalid_argument("option checkpoints: epoch " + std::to_string(k) +
                                  " is not in 1.." + std::to_string(options.epochs));
    checkpoints.insert(k);
  }
  const bool keep_best = o.get_bool("keep_best");
  if (keep_best && !has_validation)
    throw std::invalid_argument("option keep_best needs validation data, and there is none");

  model_ = make_model(o, ctx);
  check_vocabulary(train.x, model_->config(), "vocab_size");
  if (has_validation) check_vocabulary(validation.x, model_->config(), "vocab_size");
  states_.clear();
  sources_.clear();
  active_.clear();
  double best = std::numeric_limits<double>::infinity();
  std::int64_t best_epoch = 0;
  double last_train = NAN, last_val = NAN;
  dp_report_.reset();
  const auto on_epoch = [&](std::int64_t epoch, double tl, double vl) {
    last_train = tl;
    last_val = vl;
    if (checkpoints.count(epoch)) states_["epoch" + std::to_string(epoch)] = copy_state(model_);
    if (keep_best && vl < best) {
      best = vl;
      best_epoch = epoch;
      states_["best"] = copy_state(model_);
    }
  };
  const auto validation_x = has_validation ? validation.x : at::Tensor();
  if (o.get_bool("dp")) {
    dp::DpReport report;
    train_lm_dp(model_, train.x, validation_x, options, dp::dp_options_from(o), ctx,
                "fine-tuning the gpt2 target (DP)", report, on_epoch);
    dp_report_ = report;
  } else {
    train_lm(model_, train.x, validation_x, options, ctx, "fine-tuning the gpt2 target", on_epoch);
  }
  variants_.clear();
  if (keep_best) variants_.push_back("best");
  for (const auto k : checkpoints) variants_.push_back("epoch" + std::to_string(k));
  if (checkpoints.empty()) {
    states_["final"] = copy_state(model_);
    variants_.push_back("final");
  }
  if (keep_best && !states_.count("best")) {  // no epochs: the initial model is the best one
    states_["best"] = copy_state(model_);
  }
  active_.clear();  // the weights are the last epoch's: restore a variant before use
  ctx.logger()->info("gpt2 target: {} epochs, final train loss {:.4f}, validation loss {:.4f}{}",
                     options.epochs, last_train, last_val,
                     keep_best ? fmt::format(", best {:.4f} at epoch {}", best, best_epoch) : "");
}

void Gpt2Target::activate(const std::string& variant) {
  if (!model_) throw std::logic_error("side_signals() before fit() or load()");
  if (std::find(variants_.begin(), variants_.end(), variant) == variants_.end()) {
    std::string known;
    for (const auto& v : variants_) known += (known.empty() ? "" : ", ") + v;
    throw std::invalid_argument("unknown model variant '" + variant + "' (" + known + ")");
  }
  if (variant == active_) return;
  if (const auto it = states_.find(variant); it != states_.end()) {
    restore_state(model_, it->second);
  } else {
    load_weights(model_, sources_.at(variant));
  }
  active_ = variant;
}

SideSignals Gpt2Target::side_signals(const Batch& samples, const std::string& variant,
                                     Context& ctx) {
  check_text_batch(samples, "the samples to score");
  activate(variant);
  check_vocabulary(samples.x, model_->config(), "vocab_size");
  SideSignals s;
  s.loss_vector = token_losses(model_, samples.x, ctx.options().get_int("eval_batch_size"));
  s.loss = s.loss_vector.mean(1);
  return s;
}

void Gpt2Target::save(const fs::path& dir, Context&) const {
  if (!model_) throw std::logic_error("save() before fit() or load()");
  for (const auto& v : variants_) {
    const auto out = dir / v;
    fs::create_directories(out);
    if (const auto it = states_.find(v); it != states_.end()) {
      save_pretrained(model_->config(), it->second, out);
    } else {
      const auto& from = sources_.at(v);
      if (fs::equivalent(from, out)) continue;
      for (const char* f : {"config.json", "model.safetensors"})
        fs::copy_file(from / f, out / f, fs::copy_options::overwrite_existing);
    }
  }
  std::ofstream manifest(dir / kTargetManifest);
  manifest << nlohmann::json{{"variants", variants_}}.dump(2) << "\n";
  if (!manifest) throw std::runtime_error("cannot write " + (dir / kTargetManifest).string());
  if (dp_report_) {
    std::ofstream out(dir / kDpReport);
    out << dp::dp_report_json(*dp_report_);
    if (!out) throw std::runtime_error("cannot write " + (dir / kDpReport).string());
  }
}

void Gpt2Target::load(const fs::path& dir, Context& ctx) {
  dp_report_.reset();
  if (fs::exists(dir / kDpReport)) {
    std::ifstream in(dir / kDpReport);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      dp_report_ = dp::dp_report_from_json(text);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error((dir / kDpReport).string() + ": " + e.what());
    }
  }
  states_.clear();
  sources_.clear();
  active_.clear();
  if (fs::exists(dir / kTargetManifest)) {
    std::ifstream in(dir / kTargetManifest);
    try {
      variants_ = nlohmann::json::parse(in).at("variants").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error((dir / kTargetManifest).string() + " is malformed: " + e.what());
    }
    if (variants_.empty())
      throw std::runtime_error((dir / kTargetManifest).string() + " lists no variant");
    for (const auto& v : variants_) sources_[v] = dir / v;
  } else if (is_pretrained_dir(dir)) {
    variants_ = {"final"};
    sources_["final"] = dir;
  } else {
    throw std::runtime_error("no GPT-2 target in " + dir.string() + ": expected " +
                             kTargetManifest +
                             " (a saved target) or config.json + model.safetensors (a Hugging "
                             "Face model)");
  }
  model_ = Gpt2(read_config(sources_.at(variants_.front())));
  model_->to(ctx.device());
  activate(variants_.front());
}

}  // namespace panoramia::gpt2
