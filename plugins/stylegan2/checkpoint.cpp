// StyleGAN2 checkpoints (networks, EMA, optimisers, progress and the random state, so training
// resumes exactly) and the PNG grids written after training.
#include <sstream>

#include <torch/torch.h>
#include <panoramia/archive.hpp>

#include "model_state.hpp"
#include "png_grid.hpp"
#include "stylegan2.hpp"

namespace panoramia::stylegan2 {
namespace {

constexpr const char* kCheckpoint = "stylegan2.pt";

std::string encode(const Preset& p) {
  const auto& n = p.network;
  const auto& t = p.training;
  std::ostringstream out;
  out.precision(17);
  out << n.z_dim << ' ' << n.w_dim << ' ' << n.classes << ' ' << n.mapping_layers << ' '
      << n.d_mapping_layers << ' ' << n.channels << ' ' << n.resolution << ' ' << n.channel_base
      << ' ' << n.channel_max << ' ' << n.mbstd_group << ' ' << n.resnet_discriminator << ' '
      << t.batch_size << ' ' << t.lr << ' ' << t.beta1 << ' ' << t.beta2 << ' ' << t.r1_gamma << ' '
      << t.r1_interval << ' ' << t.g_reg_interval << ' ' << t.ema_kimg << ' ' << t.ema_rampup << ' '
      << t.mirror << ' ' << t.ada << ' ' << t.ada_target << ' ' << t.ada_kimg << ' '
      << t.ada_interval;
  return out.str();
}

Preset decode(const std::string& text) {
  Preset p;
  auto& n = p.network;
  auto& t = p.training;
  std::istringstream in(text);
  in >> n.z_dim >> n.w_dim >> n.classes >> n.mapping_layers >> n.d_mapping_layers >> n.channels >>
      n.resolution >> n.channel_base >> n.channel_max >> n.mbstd_group >> n.resnet_discriminator >>
      t.batch_size >> t.lr >> t.beta1 >> t.beta2 >> t.r1_gamma >> t.r1_interval >>
      t.g_reg_interval >> t.ema_kimg >> t.ema_rampup >> t.mirror >> t.ada >> t.ada_target >>
      t.ada_kimg >> t.ada_interval;
  if (!in) throw std::runtime_error("the StyleGAN2 checkpoint's settings are unreadable");
  return p;
}

std::int64_t read_int(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor t;
  a.read(key, t);
  return t.item<std::int64_t>();
}

std::string read_string(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  a.read(key, v);
  return v.toStringRef();
}

}  // namespace

std::string StyleGan2::fingerprint(const Batch& train) const {
  // Everything that shapes the run except its length, so a longer run continues a shorter one.
  const auto x = train.x.to(torch::kFloat64).flatten();
  const auto weights = torch::arange(x.numel(), torch::kFloat64).remainder(977.0);
  std::ostringstream out;
  out.precision(17);
  out << encode(preset_) << " | " << side_ << ' ' << train.size() << ' ' << x.sum().item<double>()
      << ' ' << (x * weights).sum().item<double>() << ' '
      << (train.y.defined() ? train.y.sum().item<std::int64_t>() : 0);
  return out.str();
}

void StyleGan2::write(const std::filesystem::path& file, Context& ctx,
                      const std::string& fingerprint, const at::Tensor& order,
                      std::int64_t cursor) const {
  std::filesystem::create_directories(file.parent_path());
  torch::serialize::OutputArchive a;
  a.write("preset", c10::IValue(encode(preset_)));
  a.write("fingerprint", c10::IValue(fingerprint));
  a.write("shape", torch::tensor({channels_, side_, classes_}, torch::kInt64));
  a.write("progress", torch::tensor({cur_nimg_, step_}, torch::kInt64));
  a.write("ada_p", torch::tensor({augment_.p()}, torch::kFloat64));
  a.write("label_pool", label_pool_);
  image::write_state(a, "g_", image::copy_state(*g_));
  image::write_state(a, "d_", image::copy_state(*d_));
  image::write_state(a, "ema_", image::copy_state(*g_ema_));
  torch::serialize::OutputArchive g_opt, d_opt;
  g_opt_->save(g_opt);
  d_opt_->save(d_opt);
  a.write("g_opt", g_opt);
  a.write("d_opt", d_opt);
  if (order.defined()) {
    a.write("order", order);
    a.write("cursor", torch::tensor({cursor}, torch::kInt64));
  }
  a.write("random_state", ctx.generator().get_state());
  // Write then rename, so an interrupted write never leaves a half checkpoint behind.
  const auto partial = file.string() + ".partial";
  panoramia::save_archive(a, partial);
  std::filesystem::rename(partial, file);
}

std::string StyleGan2::read_fingerprint(const std::filesystem::path& file) {
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  return read_string(a, "fingerprint");
}

void StyleGan2::read(const std::filesystem::path& file, Context& ctx, at::Tensor* order,
                     std::int64_t* cursor) {
  if (!std::filesystem::exists(file))
    throw std::runtime_error("no StyleGAN2 checkpoint at " + file.string());
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  const Preset p = decode(read_string(a, "preset"));
  torch::Tensor shape;
  a.read("shape", shape);
  initialize(p, shape[0].item<std::int64_t>(), shape[1].item<std::int64_t>(),
             shape[2].item<std::int64_t>(), ctx);
  a.read("label_pool", label_pool_);
  image::restore_state(*g_, image::read_state(a, "g_", *g_));
  image::restore_state(*d_, image::read_state(a, "d_", *d_));
  image::restore_state(*g_ema_, image::read_state(a, "ema_", *g_ema_));
  torch::Tensor progress;
  a.read("progress", progress);
  cur_nimg_ = progress[0].item<std::int64_t>();
  step_ = progress[1].item<std::int64_t>();
  torch::Tensor ada_p;
  a.read("ada_p", ada_p);
  augment_.set_p(ada_p.item<double>());
  if (order == nullptr) return;
  torch::serialize::InputArchive g_opt, d_opt;
  a.read("g_opt", g_opt);
  a.read("d_opt", d_opt);
  g_opt_->load(g_opt);
  d_opt_->load(d_opt);
  if (a.try_read("order", *order)) *cursor = read_int(a, "cursor");
  torch::Tensor random_state;
  a.read("random_state", random_state);
  ctx.generator().set_state(random_state);
}

void StyleGan2::save(const std::filesystem::path& dir, Context& ctx) const {
  if (!g_ema_) throw std::logic_error("save() before fit() or load()");
  write(dir / kCheckpoint, ctx, "", at::Tensor(), 0);
}

void StyleGan2::load(const std::filesystem::path& dir, Context& ctx) {
  read(dir / kCheckpoint, ctx, nullptr, nullptr);
}

void StyleGan2::write_grid(const Batch& train, Context& ctx) {
  const std::int64_t per_class = ctx.options().get_int("grid_per_class");
  if (per_class <= 0) return;
  const std::int64_t rows = std::max<std::int64_t>(1, std::min<std::int64_t>(classes_, 20));
  // Its own generator, so the grid does not shift the samples drawn later; one latent per column
  // for every class, as the reference's per-class generation reuses seeds across classes.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(ctx.seed() ^ 0x9e3779b97f4a7c15ULL);
  const auto z = torch::randn({per_class, preset_.network.z_dim}, generator, torch::kFloat32)
                     .repeat({rows, 1});
  const auto labels = torch::arange(rows, torch::kInt64).repeat_interleave(per_class);
  // Every rank synthesises (with random noise that draws from the context's generator, which must
  // advance alike on all ranks); rank 0 writes the files.
  const auto samples = synthesize(z, labels, ctx);
  if (!writes(ctx)) return;
  image::write_png_grid(ctx.work_dir() / "samples.png", samples, per_class);
  std::vector<at::Tensor> reals;
  for (std::int64_t c = 0; c < rows; ++c) {
    const auto idx = classes_ > 0 ? train.y.eq(c).nonzero().flatten() : torch::arange(train.size());
    reals.push_back(train.x.index_select(0, idx.slice(0, 0, per_class)));
  }
  image::write_png_grid(ctx.work_dir() / "reals.png", torch::cat(reals), per_class);
  ctx.logger()->info("stylegan2: sample grid written to {}",
                     (ctx.work_dir() / "samples.png").string());
}

}  // namespace panoramia::stylegan2
