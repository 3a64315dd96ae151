// The example plugin's own unit test, written as a third party would: the installed SDK's test
// context (panoramia/testing.hpp) stands in for the host, and the plugin is reached through the
// entry point the host calls.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>
#include <panoramia/testing.hpp>

extern "C" panoramia::PluginFactory* panoramia_plugin_factory();

namespace {

panoramia::AttackData with_losses(std::vector<double> losses) {
  panoramia::AttackData data;
  data.side.loss = torch::tensor(losses, torch::kFloat32);
  return data;
}

TEST(ExampleAttack, ScoresByTheMedianMemberLoss) {
  auto& factory = *panoramia_plugin_factory();
  panoramia::testing::TestContext ctx(factory.options(panoramia::kAttack));
  auto attack = factory.make_attack(ctx);
  // Members have losses 1, 2 and 4 (median 2); the non-member's loss 100 does not count.
  attack->fit(with_losses({1, 100, 2, 4}), torch::tensor({1.0F, 0.0F, 1.0F, 1.0F}), ctx);
  const auto scores = attack->score(with_losses({0, 2, 6}), ctx);
  // 1 / (1 + loss / 2): exactly 1, 1/2 and 1/4 in binary floating point.
  ASSERT_EQ(scores.numel(), 3);
  EXPECT_EQ(scores[0].item<double>(), 1.0);
  EXPECT_EQ(scores[1].item<double>(), 0.5);
  EXPECT_EQ(scores[2].item<double>(), 0.25);
}

TEST(ExampleAttack, TheTestContextRefusesWhatTheHostWould) {
  auto& factory = *panoramia_plugin_factory();
  const auto specs = factory.options(panoramia::kAttack);
  EXPECT_THROW(panoramia::testing::TestContext(specs, {{"min_scale", "0"}}),
               std::invalid_argument);  // the option's range is > 0
  EXPECT_THROW(panoramia::testing::TestContext(specs, {{"scale", "1"}}), std::invalid_argument);
  panoramia::testing::TestContext ctx(specs, {{"min_scale", "3"}});
  auto attack = factory.make_attack(ctx);
  attack->fit(with_losses({1, 2}), torch::tensor({1.0F, 1.0F}), ctx);
  // The median of {1, 2} is 1 (torch's lower median), raised to min_scale 3: 1 / (1 + 3 / 3).
  EXPECT_EQ(attack->score(with_losses({3}), ctx)[0].item<double>(), 0.5);
}

}  // namespace
