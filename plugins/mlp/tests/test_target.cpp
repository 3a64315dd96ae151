#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "target.hpp"

namespace panoramia::mlp {
namespace {

// A table with one continuous and one categorical input and a label that depends on both.
Batch table(int64_t n, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"age", ColumnKind::kContinuous, {}},
                     {"color", ColumnKind::kCategorical, {"red", "green", "blue"}},
                     {"y", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 2;
  const auto age = 20 + 50 * torch::rand({n}, g, torch::kFloat64);
  const auto color = torch::randint(3, {n}, g, torch::kFloat64);
  const auto noise = torch::rand({n}, g, torch::kFloat64);
  const auto y = ((age > 45).to(torch::kFloat64) + (color == 2).to(torch::kFloat64) + noise > 1.2)
                     .to(torch::kFloat64);
  Batch b;
  b.x = torch::stack({age, color, y}, 1);
  b.y = y.to(torch::kInt64);
  b.modality = "tabular";
  b.schema = schema;
  return b;
}

TEST(MlpTarget, CheckpointRoundTripGivesIdenticalSideSignals) {
  testing::TestContext ctx(target_options(), {{"hidden", "16,8"}, {"epochs", "6"}}, 3);
  MlpTarget target;
  EXPECT_THROW(target.side_signals(table(4, 1), "best", ctx), std::logic_error);
  target.fit(table(400, 1), table(100, 2), ctx);
  ASSERT_EQ(target.variants(), (std::vector<std::string>{"best", "final"}));
  target.save(ctx.work_dir(), ctx);

  testing::TestContext other(target_options(), {}, 4);  // options of the loading side do not matter
  MlpTarget loaded;
  loaded.load(ctx.work_dir(), other);
  const Batch probe = table(200, 5);
  for (const std::string variant : {"best", "final"}) {
    const auto a = target.side_signals(probe, variant, ctx);
    const auto b = loaded.side_signals(probe, variant, other);
    ASSERT_EQ(a.loss.sizes(), (std::vector<int64_t>{200}));
    EXPECT_TRUE(torch::equal(a.loss, b.loss)) << variant;
    EXPECT_TRUE(torch::equal(a.logits, b.logits)) << variant;
    EXPECT_TRUE(torch::isfinite(a.loss).all().item<bool>());
  }
  EXPECT_THROW(loaded.side_signals(probe, "middle", other), std::invalid_argument);
  EXPECT_THROW(loaded.load(ctx.work_dir() / "absent", other), std::runtime_error);
}

TEST(MlpTarget, LearnsTheTaskAndTheFinalStateFitsTrainingDataBetter) {
  testing::TestContext ctx(target_options(), {{"hidden", "32,16"}, {"epochs", "40"}}, 6);
  MlpTarget target;
  const Batch train = table(300, 7);
  target.fit(train, table(300, 8), ctx);
  const auto final_loss = target.side_signals(train, "final", ctx).loss.mean().item<float>();
  const auto best_loss = target.side_signals(train, "best", ctx).loss.mean().item<float>();
  EXPECT_LT(final_loss, std::log(2.0f));  // better than chance
  // If the best epoch is the last, both are the same weights through the same computation, equal
  // exactly on any CPU; otherwise the training loss of the final state is the lower by a margin of
  // training, not of rounding. 1e-6 is no more than a guard.
  EXPECT_LE(final_loss, best_loss + 1e-6f);
}

}  // namespace
}  // namespace panoramia::mlp
