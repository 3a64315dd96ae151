#include "torchscript_target.hpp"

#include <torch/torch.h>
#include <torch/version.h>

#include "classifier.hpp"
#include "image_batch.hpp"

namespace panoramia::torchscript {
std::vector<OptionSpec> torchscript_options() {
  using T = OptionType;
  using panoramia::option;
  std::vector<OptionSpec> specs{
      option("scale", T::kDouble, "1",
             "multiply the [0,1] images by this first (255 for a model reading 8-bit values)"),
      option("image_size", T::kInt, "0", "resize (bilinear) to this side (0: keep the size)"),
      option("channels", T::kInt, "0",
             "repeat grey images to this many channels (0: keep the data's channels)"),
      option("output", T::kString, "logits",
             "what the module returns: logits, probabilities or log_probabilities",
             {"logits", "probabilities", "log_probabilities"}),
      option("logits", T::kBool, "true", "return the output vector with the loss"),
      option("eval_batch_size", T::kInt, "256", "batch size of inference").at_least(1)};
  // A model's own normalisation must be declared: the default is none, not a guess.
  for (auto& s : image::normalization_options("none")) specs.push_back(std::move(s));
  return specs;
}

at::Tensor Preprocessing::apply(const at::Tensor& input) const {
  auto x = input;
  if (scale != 1.0) x = x * scale;
  if (channels > 0 && x.size(1) == 1 && channels != 1) x = x.expand({-1, channels, -1, -1});
  if (image_size > 0 && (x.size(2) != image_size || x.size(3) != image_size))
    x = torch::upsample_bilinear2d(x, {image_size, image_size}, false);
  return normalization.apply(x.contiguous());
}

Preprocessing preprocessing_from(const OptionValues& o, std::int64_t data_channels) {
  Preprocessing p;
  p.scale = o.get_double("scale");
  p.image_size = o.get_int("image_size");
  p.channels = o.get_int("channels");
  p.normalization =
      image::normalization_from_options(o, p.channels > 0 ? p.channels : data_channels);
  return p;
}

void FrozenImageTarget::fit(const Batch&, const Batch&, Context&) {
  throw std::logic_error(std::string("the ") + plugin_name() +
                         " target audits a trained model and cannot train; set [target] load to "
                         "its file");
}

void FrozenImageTarget::load(const std::filesystem::path& path, Context& ctx) {
  file_ = std::filesystem::is_directory(path) ? path / file_name() : path;
  if (!std::filesystem::is_regular_file(file_))
    throw std::runtime_error(std::string(model_kind()) + " " + file_.string() + " does not exist");
  open(file_, ctx);
  loaded_ = true;
}

void FrozenImageTarget::save(const std::filesystem::path& dir, Context&) const {
  if (!loaded_) throw std::logic_error("save() before load()");
  // The model as loaded, so a cached run does not depend on the original file.
  std::filesystem::copy_file(file_, dir / file_name(),
                             std::filesystem::copy_options::overwrite_existing);
}

SideSignals FrozenImageTarget::side_signals(const Batch& samples, const std::string& variant,
                                            Context& ctx) {
  if (!loaded_) throw std::logic_error("side_signals() before load()");
  if (variant != "final")
    throw std::invalid_argument(std::string("the ") + plugin_name() +
                                " target has one variant, 'final', not '" + variant + "'");
  const std::string what = std::string(model_kind()) + " " + file_.string();
  image::check_image_batch(
      samples, "the samples given to the " + std::string(plugin_name()) + " model", true);
  const auto& o = ctx.options();
  const auto pre = preprocessing_from(o, samples.x.size(1));
  const std::string output = o.get_string("output");
  const std::int64_t batch = o.get_int("eval_batch_size");
  torch::NoGradGuard guard;
  std::vector<at::Tensor> outputs;
  for (std::int64_t i = 0; i < samples.size(); i += batch) {
    const auto xb = samples.x.slice(0, i, std::min(samples.size(), i + batch))
                        .to(ctx.device(), torch::kFloat32);
    auto out = forward(pre.apply(xb)).to(torch::kCPU, torch::kFloat32);
    if (out.dim() != 2 || out.size(0) != xb.size(0))
      throw std::runtime_error(what + " returned shape " + c10::str(out.sizes()) +
                               " for a batch of " + std::to_string(xb.size(0)) +
                               "; expected [n, classes]");
    // Log-probabilities are logits up to a per-row constant, which cross-entropy ignores.
    if (output == "probabilities") out = torch::log(out.clamp_min(1e-30));
    outputs.push_back(out);
  }
  SideSignals s;
  const auto logits = torch::cat(outputs);
  if (samples.y.max().item<std::int64_t>() >= logits.size(1))
    throw std::invalid_argument("a sample has label " +
                                std::to_string(samples.y.max().item<std::int64_t>()) + " but " +
                                what + " has " + std::to_string(logits.size(1)) + " outputs");
  s.loss = image::per_example_loss(logits, samples.y);
  if (o.get_bool("logits")) s.logits = logits;
  return s;
}

std::string first_line(const std::string& message) {
  return message.substr(0, std::min(message.find('\n'), std::size_t(300)));
}

std::string describe_load_failure(const std::filesystem::path& file, const std::string& what) {
  static const std::string kUnknownOp = "Unknown builtin op: ";
  const auto at = what.find(kUnknownOp);
  if (at != std::string::npos) {
    const auto begin = at + kUnknownOp.size();
    auto end = what.find_first_of(". \n", begin);
    if (end == std::string::npos) end = what.size();
    return "TorchScript model " + file.string() + " calls " + what.substr(begin, end - begin) +
           ", which this build's LibTorch " + TORCH_VERSION +
           " does not have: it was saved by a newer PyTorch; audit it with a panoramia built "
           "against a LibTorch at least as new as that PyTorch (scripts/run-tests-libtorch2 "
           "builds one on the LibTorch of PyTorch's wheel)";
  }
  return "cannot load TorchScript model " + file.string() + ": " + first_line(what);
}

void TorchScriptTarget::open(const std::filesystem::path& file, Context& ctx) {
  try {
    module_ = torch::jit::load(file.string(), ctx.device());
  } catch (const std::exception& e) {
    throw std::runtime_error(describe_load_failure(file, e.what()));
  }
  module_.eval();
}

at::Tensor TorchScriptTarget::forward(const at::Tensor& batch) {
  const auto value = module_.forward({batch});
  if (!value.isTensor())
    throw std::runtime_error("TorchScript model " + file().string() +
                             " returned something other than a tensor");
  return value.toTensor();
}

}  // namespace panoramia::torchscript
