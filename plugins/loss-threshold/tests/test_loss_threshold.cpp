// The `loss-threshold` attack through the entry point the host calls (its source is compiled into
// this test), on inputs whose maximum-likelihood fit is known in closed form: with two distinct
// losses the logistic regression on log(loss) fits each group's member fraction exactly.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>
#include <panoramia/testing.hpp>

extern "C" panoramia::PluginFactory* panoramia_plugin_factory();

namespace panoramia::testing {
namespace {

AttackData with_losses(std::vector<float> losses) {
  AttackData data;
  data.side.loss = torch::tensor(losses);
  return data;
}

// Scores of losses {0.1, 3.0} after training on four samples of each, `low_members` of the four
// with loss 0.1 and `high_members` of the four with loss 3.0 being members.
std::pair<double, double> fitted_scores(int low_members, int high_members) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kAttack), {{"l2", "0"}});
  auto attack = factory.make_attack(ctx);
  std::vector<float> losses, members;
  for (int i = 0; i < 4; ++i) {
    losses.push_back(0.1F);
    members.push_back(i < low_members ? 1.0F : 0.0F);
    losses.push_back(3.0F);
    members.push_back(i < high_members ? 1.0F : 0.0F);
  }
  attack->fit(with_losses(losses), torch::tensor(members), ctx);
  const auto scores = attack->score(with_losses({0.1F, 3.0F}), ctx);
  return {scores[0].item<double>(), scores[1].item<double>()};
}

TEST(LossThreshold, FitsTheMemberFractionOfEachLossLevel) {
  // The fit converges to |step| < 1e-12 and the scores are returned in float32 (relative rounding
  // 6e-8): 1e-6 is far above both and far below any wrong fit.
  const auto [low, high] = fitted_scores(3, 1);
  EXPECT_NEAR(low, 0.75, 1e-6);
  EXPECT_NEAR(high, 0.25, 1e-6);
}

TEST(LossThreshold, NeverScoresAHigherLossAsMoreLikelyAMember) {
  // Here members have the higher loss: the fitted slope is positive, the attack keeps the slope at
  // zero instead, and by symmetry (logit 0.25 = -logit 0.75) the intercept is 0: every score 1/2.
  const auto [low, high] = fitted_scores(1, 3);
  EXPECT_NEAR(low, 0.5, 1e-6);
  EXPECT_NEAR(high, 0.5, 1e-6);
}

TEST(LossThreshold, RefusesAMissingLoss) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kAttack));
  auto attack = factory.make_attack(ctx);
  EXPECT_EQ(message_of([&] { attack->fit(AttackData{}, torch::ones({2}), ctx); }),
            "the side model gave no loss");
}

}  // namespace
}  // namespace panoramia::testing
