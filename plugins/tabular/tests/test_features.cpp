#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "features.hpp"

namespace panoramia::tabular {
namespace {

Batch table() {
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"age", ColumnKind::kContinuous, {}},
                     {"color", ColumnKind::kCategorical, {"red", "green", "blue"}},
                     {"y", ColumnKind::kCategorical, {"no", "yes"}}};
  schema->label = 2;
  Batch b;
  b.x = torch::tensor({{25.0, 2.0, 1.0}, {61.5, 0.0, 0.0}}, torch::kFloat64);
  b.y = torch::tensor({1, 0}, torch::kInt64);
  b.modality = "tabular";
  b.schema = schema;
  return b;
}

SideSignals losses() {
  SideSignals s;
  s.loss = torch::tensor({0.5f, 2.0f});
  return s;
}

TEST(TabularFeatures, RawRecordWithLabelThenLossAndLogLoss) {
  const auto f = tabular_features(table(), losses(), FeatureOptions{});
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(f[1][0].item<float>(), 61.5f);
  EXPECT_FLOAT_EQ(f[0][1].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(f[0][2].item<float>(), 1.0f);  // the label column is kept
  EXPECT_FLOAT_EQ(f[1][3].item<float>(), 2.0f);
  // One float32 log: ≤ u·|log 0.5| ≈ 4e-8, 1e-6 is 25x; the loss itself instead would be 0.5 off.
  EXPECT_NEAR(f[0][4].item<float>(), std::log(0.5f), 1e-6);
}

TEST(TabularFeatures, OneHotWithoutLabel) {
  FeatureOptions o;
  o.encoding = Encoding::kOneHot;
  o.label = false;
  o.log_loss = false;
  const auto f = tabular_features(table(), losses(), o);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 5}));  // age, 3 colors, loss
  EXPECT_FLOAT_EQ(f[0][3].item<float>(), 1.0f);        // blue
  EXPECT_FLOAT_EQ(f[0][1].item<float>(), 0.0f);
  const auto names = feature_names(*table().schema, o);
  EXPECT_EQ(names,
            (std::vector<std::string>{"age", "color=red", "color=green", "color=blue", "loss"}));
}

TEST(TabularFeatures, RejectsMisalignedLossAndNonTabularSamples) {
  SideSignals bad;
  bad.loss = torch::ones({3});
  EXPECT_THROW(tabular_features(table(), bad, FeatureOptions{}), std::invalid_argument);
  Batch vec;
  vec.x = torch::zeros({2, 3});
  vec.modality = "vector";
  EXPECT_THROW(tabular_features(vec, losses(), FeatureOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::tabular
