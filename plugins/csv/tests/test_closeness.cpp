#include <gtest/gtest.h>
#include <torch/torch.h>

#include "closeness.hpp"

namespace panoramia::csv {
namespace {

TEST(Closeness, TotalVariationByHand) {
  // a: 50% 0, 50% 1; b: 25% 0, 75% 2 -> TV = (|.5-.25| + |.5-0| + |0-.75|)/2 = 0.75
  EXPECT_DOUBLE_EQ(total_variation({0, 1}, {0, 2, 2, 2}, 3), 0.75);
  EXPECT_DOUBLE_EQ(total_variation({1, 1}, {1}, 2), 0.0);
}

TEST(Closeness, KolmogorovSmirnovByHand) {
  EXPECT_DOUBLE_EQ(ks_statistic({1, 2, 3}, {1, 2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(ks_statistic({1, 2}, {3, 4}), 1.0);
  // F_a jumps to 0.5 at 1; F_b is 0 until 2: sup = 0.5 at x in [1, 2).
  EXPECT_DOUBLE_EQ(ks_statistic({1, 3}, {2, 4}), 0.5);
}

TEST(Closeness, PerColumnOnTables) {
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"age", ColumnKind::kContinuous, {}},
                     {"c", ColumnKind::kCategorical, {"a", "b"}}};
  Batch real{torch::tensor({{1.0, 0.0}, {2.0, 1.0}}, torch::kFloat64), {}, "tabular", schema};
  Batch fake{torch::tensor({{3.0, 1.0}, {4.0, 1.0}}, torch::kFloat64), {}, "tabular", schema};
  const auto d = column_closeness(real, fake);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].measure, "ks");
  EXPECT_DOUBLE_EQ(d[0].distance, 1.0);
  EXPECT_EQ(d[1].measure, "tv");
  EXPECT_EQ(d[0].feature, "age");
  EXPECT_DOUBLE_EQ(d[1].distance, 0.5);
}

TEST(TablePreview, CategoriesByNameNumbersToFourDigitsAtMostEightRows) {
  auto schema = std::make_shared<TabularSchema>();
  schema->columns = {{"age", ColumnKind::kContinuous, {}},
                     {"c", ColumnKind::kCategorical, {"a", "b"}}};
  auto x = torch::zeros({10, 2}, torch::kFloat64);
  x[0][0] = 31.25678;
  x[0][1] = 1.0;
  x[1][1] = 7.0;  // a code the schema does not know (a generator's bad output) shows as "?"
  const auto preview = table_preview(Batch{x, {}, "tabular", schema});
  EXPECT_EQ(preview.columns, (std::vector<std::string>{"age", "c"}));
  ASSERT_EQ(preview.rows.size(), kPreviewSamples);
  EXPECT_EQ(preview.rows[0], (std::vector<std::string>{"31.26", "b"}));
  EXPECT_EQ(preview.rows[1], (std::vector<std::string>{"0", "?"}));
  EXPECT_EQ(preview.rows[2], (std::vector<std::string>{"0", "a"}));
  EXPECT_TRUE(preview.png.empty());
  EXPECT_TRUE(preview.texts.empty());
}

}  // namespace
}  // namespace panoramia::csv
