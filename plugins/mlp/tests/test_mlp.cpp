#include <gtest/gtest.h>
#include <torch/torch.h>

#include "encoder.hpp"
#include "network.hpp"

namespace panoramia::mlp {
namespace {

TEST(MlpEncoder, TabularOneHotExcludesLabelAndStandardises) {
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"age", ColumnKind::kContinuous, {}},
                     {"color", ColumnKind::kCategorical, {"red", "green", "blue"}},
                     {"label", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 2;
  Batch b;
  b.x = torch::tensor({{20.0, 0.0, 0.0}, {40.0, 2.0, 1.0}, {60.0, 1.0, 1.0}}, torch::kFloat64);
  b.y = torch::tensor({0, 1, 1}, torch::kInt64);
  b.schema = schema;
  InputEncoder enc;
  enc.fit(b, true);
  EXPECT_EQ(enc.width(), 4);  // 1 continuous + 3 categories; the label is not an input
  const auto x = enc.encode(b);
  // Float32 standardisation of 3 values: mean, std and the division take ≲ 10 roundings, ≤ 10·u
  // ≈ 6e-7 relative; a wrong mean or the population std instead of the sample one is off by ≥ 0.1.
  EXPECT_NEAR(x[0][0].item<double>(), -1.0, 1e-6);  // (20-40)/std(20,40,60)=-1
  EXPECT_NEAR(x[2][0].item<double>(), 1.0, 1e-6);
  EXPECT_EQ(x[1][3].item<float>(), 1.0f);  // blue
  EXPECT_EQ(x[1][1].item<float>(), 0.0f);
}

TEST(MlpNetwork, PerExampleLossMatchesFormulas) {
  const auto logits = torch::tensor({0.0, 2.0});
  const auto labels = torch::tensor({1, 0});
  const auto loss = per_example_loss(logits, labels);
  // Float32 losses ≤ 2.2 against float64 formulas: the log-sum-exp of 2 or 3 terms takes ≲ 6
  // roundings, ≤ 6·u·2.2 ≈ 8e-7 (1e-6 for log 2 and log 3; 1e-5, 10x, for the larger one); the loss
  // of the other label differs by ≥ 0.1.
  EXPECT_NEAR(loss[0].item<double>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(loss[1].item<double>(), std::log1p(std::exp(2.0)), 1e-5);
  const auto multi = per_example_loss(torch::tensor({{0.0, 0.0, 0.0}}), torch::tensor({2}));
  EXPECT_NEAR(multi[0].item<double>(), std::log(3.0), 1e-6);
}

}  // namespace
}  // namespace panoramia::mlp
