// The tabular GAN (CTGAN) trained through Ctgan::fit on a seeded toy table: generator (with
// synchronised BatchNorm) and discriminator each data-parallel, shards of whole PacGAN groups
// (7 groups of 5 rows: 4 + 3 groups on two ranks). Returns both networks' parameters, the
// generator's BatchNorm buffers and rows sampled after training (so the ranks' random generators
// are checked to have stayed in step).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ctgan.hpp"
#include "probes.hpp"

using namespace panoramia;

namespace {

// Two continuous columns (one bimodal) and two categorical ones, at unit scale.
Batch toy_table(std::int64_t n) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(21);
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"a", ColumnKind::kContinuous, {}},
                     {"b", ColumnKind::kContinuous, {}},
                     {"c", ColumnKind::kCategorical, {"x", "y", "z"}},
                     {"d", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 3;
  const auto c = torch::multinomial(torch::tensor({0.5, 0.3, 0.2}), n, true, g).to(torch::kFloat64);
  const auto first = torch::rand({n}, g, torch::kFloat64) < 0.4;
  const auto a = torch::where(first, -1.0 + 0.3 * torch::randn({n}, g, torch::kFloat64),
                              1.0 + 0.5 * torch::randn({n}, g, torch::kFloat64));
  const auto b = torch::rand({n}, g, torch::kFloat64);
  const auto d = (a + 0.3 * c > 0.5).to(torch::kFloat64);
  Batch t;
  t.x = torch::stack({a, b, c, d}, 1);
  t.y = d.to(torch::kInt64);
  t.modality = "tabular";
  t.schema = schema;
  return t;
}

// Adam (betas 0.5, 0.9, as CTGAN) takes steps of about lr * sign(gradient) at first, so a gradient
// element that is zero up to rounding moves by up to 2 lr per step between two summation orders.
// The generator's linear biases feed BatchNorm, which removes them: their gradients are exactly
// such rounding noise, in one process too (with CTGAN's lr 2e-4 they end ~3e-5 apart after six
// steps, everything else ~1e-8). The probe's learning rate, 2e-5, keeps them and the running means
// and samples that follow them within the test's 1e-5 over its twelve steps, while every other
// weight moves by ~lr per step (~2e-4 in all), far beyond the tolerance.
std::vector<at::Tensor> train_ctgan(Context& ctx, std::int64_t epochs, std::int64_t batch) {
  tabular_gan::CtganOptions o;
  o.embedding_dim = 8;
  o.generator_dim = {16, 16};
  o.discriminator_dim = {16, 16};
  o.batch_size = batch;
  o.pac = 5;
  o.epochs = epochs;
  o.steps_per_epoch = 3;
  o.generator_lr = o.discriminator_lr = 2e-5;
  o.gmm.components = 3;
  tabular_gan::Ctgan gan(o);
  gan.fit(toy_table(140), ctx);
  std::vector<at::Tensor> state;
  for (const auto& p : gan.generator_net()->parameters()) state.push_back(p.detach().clone());
  for (const auto& b : gan.generator_net()->buffers())
    state.push_back(b.detach().to(torch::kFloat64));
  for (const auto& p : gan.discriminator_net()->parameters()) state.push_back(p.detach().clone());
  // Rows sampled after training: equal on the ranks only if their random generators stayed in
  // step through training.
  state.push_back(gan.sample(8, ctx.generator()));
  return state;
}

// 35 rows = 7 pac groups: 4 + 3 groups on two ranks.
const probes::Register r("ctgan", [](Context& ctx, std::int64_t epochs) {
  return train_ctgan(ctx, epochs, 35);
});
// One pac group: rank 1's shard is empty (it still joins every all-reduce).
const probes::Register r_one("ctgan_one_group", [](Context& ctx, std::int64_t epochs) {
  return train_ctgan(ctx, epochs, 5);
});

}  // namespace
