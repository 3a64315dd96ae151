// Plugin `tabular-gan`: CTGAN as the generator of synthetic non-members for tables (see ctgan.hpp).
// Every call to sample() also writes its rows to synthetic-N.csv in the work directory.
#include <fstream>

#include <torch/torch.h>
#include <panoramia/archive.hpp>

#include <panoramia/plugin.hpp>

#include "csv_parser.hpp"
#include "ctgan.hpp"
#include "rows_csv.hpp"
#include "schema_io.hpp"

namespace {

using panoramia::Batch;
using panoramia::Context;
using panoramia::OptionSpec;
using panoramia::OptionType;
namespace gan = panoramia::tabular_gan;

gan::CtganOptions ctgan_options(const panoramia::OptionValues& o) {
  gan::CtganOptions c;
  c.embedding_dim = o.get_int("embedding_dim");
  c.generator_dim = o.get_int_list("generator_dim");
  c.discriminator_dim = o.get_int_list("discriminator_dim");
  c.generator_lr = o.get_double("generator_lr");
  c.generator_decay = o.get_double("generator_decay");
  c.discriminator_lr = o.get_double("discriminator_lr");
  c.discriminator_decay = o.get_double("discriminator_decay");
  c.batch_size = o.get_int("batch_size");
  c.discriminator_steps = o.get_int("discriminator_steps");
  c.epochs = o.get_int("epochs");
  c.steps_per_epoch = o.get_int("steps_per_epoch");
  c.pac = o.get_int("pac");
  c.log_frequency = o.get_bool("log_frequency");
  c.gmm.components = static_cast<int>(o.get_int("modes"));
  c.gmm.prune_weight = o.get_double("mode_weight");
  c.gmm.max_iterations = static_cast<int>(o.get_int("em_iterations"));
  return c;
}

class TabularGan final : public panoramia::Generator {
 public:
  void fit(const Batch& train, Context& ctx) override {
    if (!train.schema) throw std::invalid_argument("tabular-gan needs tabular samples (a schema)");
    schema_ = train.schema;
    model_ = std::make_unique<gan::Ctgan>(ctgan_options(ctx.options()));
    model_->fit(train, ctx);
  }

  Batch sample(std::int64_t n, Context& ctx) override {
    if (!model_) throw std::logic_error("sample() before fit() or load()");
    Batch b;
    b.x = model_->sample(n, ctx.generator());
    b.modality = "tabular";
    b.schema = schema_;
    if (schema_->label >= 0) b.y = b.x.select(1, schema_->label).to(torch::kInt64).contiguous();
    if (ctx.options().get_bool("write_csv")) {
      const auto file = ctx.work_dir() / ("synthetic-" + std::to_string(++calls_) + ".csv");
      gan::write_rows_csv(file, *schema_, b.x);
      ctx.logger()->info("tabular-gan: {} synthetic rows written to {}", n, file.string());
    }
    return b;
  }

  void save(const std::filesystem::path& dir, Context&) const override {
    if (!model_) throw std::logic_error("save() before fit()");
    torch::serialize::OutputArchive a;
    model_->save(a);
    panoramia::save_archive(a, dir / "ctgan.pt");
    std::ofstream out(dir / "schema.json");
    out << panoramia::csv::schema_to_json(*schema_);
    if (!out) throw std::runtime_error("cannot write " + (dir / "schema.json").string());
  }

  void load(const std::filesystem::path& dir, Context& ctx) override {
    const auto file = dir / "ctgan.pt";
    const auto schema_file = dir / "schema.json";
    if (!std::filesystem::exists(file) || !std::filesystem::exists(schema_file))
      throw std::runtime_error("no saved tabular-gan in " + dir.string() +
                               " (ctgan.pt and schema.json)");
    schema_ = std::make_shared<panoramia::TabularSchema>(panoramia::csv::schema_from_json(
        panoramia::csv::read_file(schema_file.string()), schema_file.string()));
    torch::serialize::InputArchive a;
    a.load_from(file.string());
    model_ = std::make_unique<gan::Ctgan>(ctgan_options(ctx.options()));
    model_->load(a, ctx.generator());
  }

 private:
  std::shared_ptr<const panoramia::TabularSchema> schema_;
  std::unique_ptr<gan::Ctgan> model_;
  int calls_ = 0;
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    using T = OptionType;
    return {
        option("epochs", T::kInt, "300", "training epochs").at_least(0),
        option("batch_size", T::kInt, "500", "rows per step (a multiple of pac)").at_least(1),
        option("steps_per_epoch", T::kInt, "0", "steps per epoch (0: rows / batch_size)"),
        option("embedding_dim", T::kInt, "128", "noise dimension").at_least(1),
        option("generator_dim", T::kIntList, "256,256", "residual generator layer sizes")
            .at_least(1),
        option("discriminator_dim", T::kIntList, "256,256", "discriminator layer sizes")
            .at_least(1),
        option("generator_lr", T::kDouble, "0.0002", "generator Adam learning rate").above(0),
        option("generator_decay", T::kDouble, "0.000001", "generator Adam weight decay"),
        option("discriminator_lr", T::kDouble, "0.0002", "discriminator Adam learning rate")
            .above(0),
        option("discriminator_decay", T::kDouble, "0.000001", "discriminator Adam weight decay"),
        option("discriminator_steps", T::kInt, "1", "critic updates per generator update")
            .at_least(1),
        option("pac", T::kInt, "10", "rows the discriminator judges together (PacGAN)").at_least(1),
        option("log_frequency", T::kBool, "true",
               "draw training conditions by log-frequency of the categories"),
        option("modes", T::kInt, "10", "most Gaussian modes per continuous column"),
        option("mode_weight", T::kDouble, "0.005", "modes lighter than this are pruned"),
        option("em_iterations", T::kInt, "200", "most EM iterations per continuous column")
            .at_least(1),
        option("write_csv", T::kBool, "true",
               "write every synthetic set to synthetic-N.csv in the work directory")};
  }
  std::unique_ptr<panoramia::Generator> make_generator(Context&) override {
    return std::make_unique<TabularGan>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "tabular-gan", "1.2.0", panoramia::kGenerator,
                 "CTGAN: conditional tabular GAN with mode-specific normalisation, training-by-"
                 "sampling and a PacGAN critic with gradient penalty.")
