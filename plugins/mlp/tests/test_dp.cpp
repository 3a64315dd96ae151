// The mlp target trained with DP-SGD: accounting, dp.json, learning with little noise and not
// learning with a huge one, determinism.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include <dp/rdp.hpp>
#include <dp/report_checks.hpp>

#include <panoramia/testing.hpp>

#include "target.hpp"

namespace panoramia::mlp {
namespace {

// Two continuous inputs; the label is which side of a line the point falls, with 5% flipped.
Batch blobs(int64_t n, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"a", ColumnKind::kContinuous, {}},
                     {"b", ColumnKind::kContinuous, {}},
                     {"y", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 2;
  const auto a = torch::randn({n}, g, torch::kFloat64);
  const auto b = torch::randn({n}, g, torch::kFloat64);
  const auto flip = torch::rand({n}, g, torch::kFloat64) < 0.05;
  const auto y = ((a + 0.5 * b > 0) ^ flip).to(torch::kFloat64);
  Batch batch;
  batch.x = torch::stack({a, b, y}, 1);
  batch.y = y.to(torch::kInt64);
  batch.modality = "tabular";
  batch.schema = schema;
  return batch;
}

double accuracy(MlpTarget& target, const Batch& data, Context& ctx) {
  const auto s = target.side_signals(data, "final", ctx);
  return ((s.logits.squeeze(1) > 0).to(torch::kInt64) == data.y)
      .to(torch::kFloat64)
      .mean()
      .item<double>();
}

using Overrides = std::map<std::string, std::string>;
Overrides dp_run(Overrides extra) {
  Overrides o = {{"hidden", "16,8"}, {"epochs", "8"},      {"batch_size", "32"},
                 {"dp", "true"},     {"clip_norm", "1.0"}, {"dp_lr", "0.1"}};
  for (auto& [k, v] : extra) o[k] = v;
  return o;
}

TEST(MlpDp, TargetEpsilonIsSolvedAndNotExceeded) {
  testing::TestContext ctx(target_options(), dp_run({{"target_epsilon", "2"}}), 5);
  MlpTarget target;
  const Batch train = blobs(400, 1);
  target.fit(train, blobs(100, 2), ctx);
  ASSERT_TRUE(target.dp_report().has_value());
  const auto& r = *target.dp_report();
  EXPECT_LE(r.epsilon, 2.0);
  EXPECT_GT(r.epsilon, 1.99);                                    // the bisection is tight
  dp::testing::expect_accounted(r, 8 * 13, 32.0 / 400.0, 1e-5);  // ceil(400 / 32) an epoch
  EXPECT_DOUBLE_EQ(r.noise_multiplier, dp::noise_for_epsilon(2.0, 1e-5, 0.08, 104));
  EXPECT_DOUBLE_EQ(r.epsilon, dp::dp_sgd_epsilon(0.08, r.noise_multiplier, 104, 1e-5).epsilon);

  target.save(ctx.work_dir(), ctx);
  const auto json = dp::testing::expect_dp_json(ctx.work_dir(), r);
  EXPECT_DOUBLE_EQ(json.at("delta").get<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(json.at("target_epsilon").get<double>(), 2.0);
  EXPECT_EQ(r.input_statistics, kInputsFromValidation);
  EXPECT_EQ(json.at("input_statistics").get<std::string>(), kInputsFromValidation);

  // A loaded model keeps its report, and re-saving writes dp.json again.
  testing::TestContext other(target_options(), {}, 6);
  MlpTarget loaded;
  loaded.load(ctx.work_dir(), other);
  ASSERT_TRUE(loaded.dp_report().has_value());
  EXPECT_DOUBLE_EQ(loaded.dp_report()->epsilon, r.epsilon);
  EXPECT_EQ(loaded.dp_report()->optimizer, "sgd");
  EXPECT_EQ(loaded.dp_report()->input_statistics, kInputsFromValidation);
  const Batch probe = blobs(50, 9);
  EXPECT_TRUE(torch::equal(target.side_signals(probe, "best", ctx).loss,
                           loaded.side_signals(probe, "best", other).loss));
}

TEST(MlpDp, GivenNoiseMultiplierIsAccountedAndNonDpWritesNoReport) {
  testing::TestContext ctx(target_options(),
                           dp_run({{"noise_multiplier", "1.3"},
                                   {"dp_optimizer", "adam"},
                                   {"dp_lr", "0.01"},
                                   {"delta", "1e-4"}}),
                           7);
  MlpTarget target;
  target.fit(blobs(300, 3), Batch{}, ctx);
  const auto& r = *target.dp_report();
  EXPECT_DOUBLE_EQ(r.noise_multiplier, 1.3);
  EXPECT_EQ(r.optimizer, "adam");
  EXPECT_EQ(r.input_statistics, kInputsFromTraining);  // no validation data: the training data
  EXPECT_DOUBLE_EQ(r.epsilon, dp::dp_sgd_epsilon(32.0 / 300.0, 1.3, 8 * 10, 1e-4).epsilon);

  testing::TestContext plain(target_options(), {{"hidden", "8"}, {"epochs", "2"}}, 7);
  MlpTarget non_dp;
  non_dp.fit(blobs(100, 3), Batch{}, plain);
  EXPECT_FALSE(non_dp.dp_report().has_value());
  non_dp.save(plain.work_dir(), plain);
  EXPECT_FALSE(std::filesystem::exists(plain.work_dir() / "dp.json"));
}

TEST(MlpDp, LearnsWithModerateNoiseButNotWithAHugeOne) {
  const Batch train = blobs(600, 11);
  const Batch test = blobs(600, 12);
  testing::TestContext moderate(target_options(),
                                dp_run({{"noise_multiplier", "0.8"}, {"epochs", "15"}}), 13);
  MlpTarget learner;
  learner.fit(train, Batch{}, moderate);
  EXPECT_GT(accuracy(learner, test, moderate), 0.85);
  EXPECT_LT(learner.dp_report()->epsilon, 1e3);

  testing::TestContext huge(target_options(),
                            dp_run({{"noise_multiplier", "10000"}, {"epochs", "15"}}), 13);
  MlpTarget noisy;
  noisy.fit(train, Batch{}, huge);
  // No better than predicting 1/2 for everyone (loss log 2).
  const auto loss = noisy.side_signals(test, "final", huge).loss.mean().item<double>();
  EXPECT_GT(loss, std::log(2.0));
  // Almost no privacy spent (the largest order, 256, floors ε at about 0.02 for δ = 1e-5).
  EXPECT_LT(noisy.dp_report()->epsilon, 0.03);
}

TEST(MlpDp, SameSeedSameModel) {
  const Batch train = blobs(200, 4);
  const Batch probe = blobs(30, 5);
  auto run = [&](uint64_t seed) {
    testing::TestContext ctx(target_options(), dp_run({{"epochs", "3"}}), seed);
    torch::manual_seed(seed);  // the host seeds LibTorch's global generator per stage
    MlpTarget t;
    t.fit(train, Batch{}, ctx);
    return t.side_signals(probe, "final", ctx).loss;
  };
  EXPECT_TRUE(torch::equal(run(3), run(3)));
  EXPECT_FALSE(torch::equal(run(3), run(4)));
}

}  // namespace
}  // namespace panoramia::mlp
