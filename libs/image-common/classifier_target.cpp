#include "classifier_target.hpp"

#include <sstream>

#include <torch/torch.h>
#include <panoramia/archive.hpp>

#include "image_batch.hpp"

namespace panoramia::image {
namespace {

std::string encode(const Architecture& a) {
  std::ostringstream out;
  for (const auto& [k, v] : a) out << k << '=' << v << '\n';
  return out.str();
}

Architecture decode(const std::string& text) {
  Architecture a;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) a[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return a;
}

}  // namespace

std::vector<OptionSpec> classifier_target_options(const ClassifierRecipe& d,
                                                  const std::string& normalization) {
  using T = OptionType;
  std::vector<OptionSpec> specs{
      option("epochs", T::kInt, std::to_string(d.epochs), "training epochs").at_least(0),
      option("batch_size", T::kInt, std::to_string(d.batch_size), "mini-batch size").at_least(1),
      option("flip", T::kBool, d.augment.flip ? "true" : "false",
             "augment with random horizontal flips"),
      option("crop_padding", T::kInt, std::to_string(d.augment.crop_padding),
             "augment with random crops of the image padded by this many pixels (0: none)"),
      option("eval_every", T::kInt, std::to_string(d.eval_every),
             "epochs between validation passes that pick the 'best' variant")
          .at_least(1),
      option("classes", T::kInt, "0", "number of classes (0: the largest label + 1)"),
      option("logits", T::kBool, "true", "return the logit vector with the loss"),
      option("eval_batch_size", T::kInt, "256", "batch size of inference").at_least(1)};
  for (auto& s : optimizer_options(d.optimizer)) specs.push_back(std::move(s));
  for (auto& s : normalization_options(normalization)) specs.push_back(std::move(s));
  return specs;
}

ClassifierRecipe classifier_recipe_from_options(const OptionValues& o) {
  ClassifierRecipe r;
  r.epochs = o.get_int("epochs");
  r.batch_size = o.get_int("batch_size");
  r.augment.flip = o.get_bool("flip");
  r.augment.crop_padding = o.get_int("crop_padding");
  r.eval_every = o.get_int("eval_every");
  r.optimizer = optimizer_from_options(o);
  if (r.augment.crop_padding < 0) throw std::invalid_argument("option crop_padding is negative");
  return r;
}

void ClassifierTarget::fit(const Batch& train, const Batch& validation, Context& ctx) {
  const auto& o = ctx.options();
  check_image_batch(train, "the " + model_name() + " training set", true);
  if (validation.size() > 0)
    check_image_batch(validation, "the " + model_name() + " validation set", true);
  std::int64_t classes = o.get_int("classes");
  if (classes <= 0) {
    classes = train.y.max().item<std::int64_t>() + 1;
    if (validation.size() > 0)
      classes = std::max(classes, validation.y.max().item<std::int64_t>() + 1);
  }
  architecture_ = architecture(o, train.x.size(1), train.x.size(2), train.x.size(3), classes);
  architecture_["image_channels"] = std::to_string(train.x.size(1));
  architecture_["image_height"] = std::to_string(train.x.size(2));
  architecture_["image_width"] = std::to_string(train.x.size(3));
  architecture_["classes"] = std::to_string(classes);
  normalization_ = normalization_from_options(o, train.x.size(1));
  net_ = build(architecture_);
  net_->reset_parameters(ctx.generator());
  net_->to(ctx.device());
  prepare(*net_, ctx);
  ctx.logger()->info("{}: {} parameters ({} trainable), normalization {}, {} training images",
                     model_name(), count_parameters(*net_), count_parameters(*net_, true),
                     normalization_.name, train.size());
  const auto run = this->train(*net_, normalization_, train, validation, ctx);
  best_ = run.best;
  final_ = run.final;
  active_ = "final";
  ctx.logger()->info(
      "{}: final train loss {:.4f}, train accuracy {:.4f}; best validation accuracy {:.4f} at "
      "epoch {}",
      model_name(), run.final_train_loss, run.final_train_accuracy, run.best_validation_accuracy,
      run.best_epoch);
}

ClassifierRun ClassifierTarget::train(ImageClassifierImpl& net, const Normalization& normalization,
                                      const Batch& train, const Batch& validation, Context& ctx) {
  return train_classifier(net, normalization, train, validation,
                          classifier_recipe_from_options(ctx.options()), ctx,
                          "training the " + model_name());
}

SideSignals ClassifierTarget::side_signals(const Batch& samples, const std::string& variant,
                                           Context& ctx) {
  if (!net_) throw std::logic_error("side_signals() before fit() or load()");
  check_image_batch(samples, "the samples given to the " + model_name(), true);
  if (variant != "best" && variant != "final")
    throw std::invalid_argument("unknown " + model_name() + " variant '" + variant +
                                "' (best, final)");
  const auto& a = architecture_;
  const std::vector<std::int64_t> expected{std::stoll(a.at("image_channels")),
                                           std::stoll(a.at("image_height")),
                                           std::stoll(a.at("image_width"))};
  if (samples.x.sizes().slice(1).vec() != expected)
    throw std::invalid_argument("the " + model_name() + " was trained on images of " +
                                a.at("image_channels") + "x" + a.at("image_height") + "x" +
                                a.at("image_width") + ", the samples have another shape");
  const std::int64_t classes = std::stoll(a.at("classes"));
  if (samples.size() > 0 && samples.y.max().item<std::int64_t>() >= classes)
    throw std::invalid_argument("a sample has label " +
                                std::to_string(samples.y.max().item<std::int64_t>()) + " but the " +
                                model_name() + " has " + std::to_string(classes) + " classes");
  if (active_ != variant) {
    restore_state(*net_, variant == "best" ? best_ : final_);
    active_ = variant;
  }
  SideSignals s;
  const auto logits = predict_logits(*net_, normalization_, samples.x, ctx.device(),
                                     ctx.options().get_int("eval_batch_size"));
  s.loss = per_example_loss(logits, samples.y);
  if (ctx.options().get_bool("logits")) s.logits = logits;
  return s;
}

std::filesystem::path ClassifierTarget::checkpoint(const std::filesystem::path& dir) const {
  return dir / (model_name() + ".pt");
}

void ClassifierTarget::save(const std::filesystem::path& dir, Context&) const {
  if (!net_) throw std::logic_error("save() before fit() or load()");
  torch::serialize::OutputArchive archive;
  archive.write("architecture", c10::IValue(encode(architecture_)));
  normalization_.save(archive, "normalization_");
  write_state(archive, "best_", best_);
  write_state(archive, "final_", final_);
  save_extra(archive, dir);
  panoramia::save_archive(archive, checkpoint(dir));
}

void ClassifierTarget::load(const std::filesystem::path& dir, Context& ctx) {
  const auto file = checkpoint(dir);
  if (!std::filesystem::exists(file))
    throw std::runtime_error("no saved " + model_name() + " at " + file.string());
  torch::serialize::InputArchive archive;
  archive.load_from(file.string());
  c10::IValue text;
  archive.read("architecture", text);
  architecture_ = decode(text.toStringRef());
  normalization_ = Normalization::load(archive, "normalization_");
  net_ = build(architecture_);
  best_ = read_state(archive, "best_", *net_);
  final_ = read_state(archive, "final_", *net_);
  load_extra(archive);
  restore_state(*net_, final_);
  active_ = "final";
  net_->to(ctx.device());
}

}  // namespace panoramia::image
