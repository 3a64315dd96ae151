#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "attack.hpp"
#include "search.hpp"

namespace panoramia::gbm {
namespace {

// Members ~ N(+shift, 1), generated ~ N(-shift, 1) in `dim` dimensions, with one noise column.
std::pair<AttackData, torch::Tensor> blobs(int64_t n, double shift, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto y = torch::bernoulli(torch::full({n}, 0.5), gen).to(torch::kFloat32);
  auto x = torch::randn({n, 4}, gen, torch::kFloat32);
  x.slice(1, 0, 3) += (2 * y - 1).unsqueeze(1) * shift;
  AttackData d;
  d.features = x;
  return {d, y};
}

TEST(GbmSearch, RocAucWithTies) {
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.1, 0.4, 0.35, 0.8}), torch::tensor({0, 0, 1, 1})),
                   0.75);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.5, 0.5}), torch::tensor({0, 1})), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.2, 0.9}), torch::tensor({0, 1})), 1.0);
}

TEST(GbmSearch, StratifiedFoldsBalanceTheClasses) {
  std::mt19937_64 rng(3);
  std::vector<float> labels(90, 0.0f);
  for (int i = 0; i < 30; ++i) labels[i] = 1.0f;
  const auto folds = stratified_folds(torch::tensor(labels), 3, rng);
  for (int f = 0; f < 3; ++f) {
    int pos = 0, all = 0;
    for (int i = 0; i < 90; ++i)
      if (folds[i] == f) {
        ++all;
        pos += labels[i] > 0.5f;
      }
    EXPECT_EQ(all, 30);
    EXPECT_EQ(pos, 10);
  }
}

TEST(GbmSearch, TpeConcentratesOnTheGoodRegion) {
  const std::vector<Dimension> space = {{"a", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
                                        {"b", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}};
  auto loss = [](const Point& p) { return std::abs(p[0] - 7) + std::abs(p[1] - 2); };
  auto late_mean = [&](bool tpe) {
    std::mt19937_64 rng(11);
    std::vector<Trial> trials;
    double late = 0;
    for (int t = 0; t < 80; ++t) {
      const Point p = tpe ? tpe_point(space, trials, TpeOptions{}, rng) : random_point(space, rng);
      trials.push_back({p, double(loss(p))});
      if (t >= 50) late += loss(p);
    }
    return late / 30;
  };
  EXPECT_LT(late_mean(true), 0.5 * late_mean(false));
}

TEST(GbmAttack, SeparatesAnEasyCaseOnHeldOutData) {
  auto [train, y_train] = blobs(800, 1.0, 1);
  auto [test, y_test] = blobs(800, 1.0, 2);
  testing::TestContext ctx(gbm_options(), {{"budget", "8"}, {"startup", "4"}, {"threads", "1"}});
  GbmAttack attack;
  attack.fit(train, y_train, ctx);
  const auto scores = attack.score(test, ctx);
  ASSERT_EQ(scores.numel(), 800);
  EXPECT_GE(scores.min().item<float>(), 0.0f);
  EXPECT_LE(scores.max().item<float>(), 1.0f);
  EXPECT_GT(roc_auc(scores, y_test), 0.95);
  EXPECT_LT(attack.cv_loss(), 0.2);  // cross-validated error rate of the chosen point
}

TEST(GbmAttack, SameSeedSameScores) {
  auto [train, y] = blobs(300, 0.5, 5);
  auto run = [&, &train = train, &y = y] {
    testing::TestContext ctx(gbm_options(), {{"budget", "5"}, {"startup", "2"}}, 42);
    GbmAttack attack;
    attack.fit(train, y, ctx);
    return attack.score(train, ctx);
  };
  EXPECT_TRUE(torch::equal(run(), run()));
}

TEST(GbmAttack, NoSearchWithBudgetOneAndErrors) {
  auto [train, y] = blobs(100, 1.0, 7);
  testing::TestContext ctx(gbm_options(), {{"budget", "1"}, {"n_estimators", "20"}});
  GbmAttack attack;
  EXPECT_THROW(attack.score(train, ctx), std::logic_error);
  attack.fit(train, y, ctx);
  EXPECT_EQ(attack.chosen().rounds, 20);
  AttackData wrong;
  wrong.features = torch::zeros({3, 7});
  EXPECT_THROW(attack.score(wrong, ctx), std::invalid_argument);
  testing::TestContext bad(gbm_options(), {{"class_weight", "heavy"}});
  EXPECT_THROW(GbmAttack().fit(train, y, bad), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::gbm
