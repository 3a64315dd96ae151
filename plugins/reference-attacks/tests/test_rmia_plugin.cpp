// The `rmia` plugin through the entry point the host calls (its source is compiled into this
// test): its population is the generated samples of the attack-training set, and its scores are
// the calibrated RMIA scores of scores.cpp, computed here again from the definition's parts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>
#include <panoramia/testing.hpp>

#include "calibration.hpp"
#include "scores.hpp"

extern "C" panoramia::PluginFactory* panoramia_plugin_factory();

namespace panoramia::testing {
namespace {

AttackData with_losses(std::vector<double> side, std::vector<std::vector<double>> references) {
  AttackData data;
  data.side.loss = torch::tensor(side, torch::kFloat64).to(torch::kFloat32);
  for (auto& r : references)
    data.references.push_back(
        SideSignals{torch::tensor(r, torch::kFloat64).to(torch::kFloat32), {}, {}});
  return data;
}

at::Tensor losses(const AttackData& d) {
  return d.side.loss.to(torch::kFloat64);
}
at::Tensor reference_losses(const AttackData& d) {
  std::vector<at::Tensor> rows;
  for (const auto& r : d.references) rows.push_back(r.loss.to(torch::kFloat64));
  return torch::stack(rows);
}

TEST(RmiaPlugin, ScoresAgainstTheGeneratedSamplesOfItsTrainingSet) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kAttack), {{"gamma", "1.5"}, {"offline_a", "0.2"}});
  auto attack = factory.make_attack(ctx);
  // Members (1) have lower side losses than the generated samples (0); two references.
  const auto train = with_losses(
      {0.2, 1.1, 0.4, 0.9, 1.6, 0.3, 2.0, 1.3},
      {{0.9, 1.0, 0.8, 1.2, 1.5, 0.7, 1.9, 1.1}, {1.1, 0.8, 0.9, 1.0, 1.4, 0.9, 2.1, 1.0}});
  const auto member = torch::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0});
  attack->fit(train, member, ctx);
  const auto test = with_losses({0.1, 0.7, 1.8}, {{0.8, 0.9, 1.7}, {1.0, 0.6, 1.6}});
  const auto scores = attack->score(test, ctx);

  // The same from the parts: population = rows 1, 3, 4, 6 (the generated ones).
  const auto population = torch::tensor({1, 3, 4, 6}, torch::kInt64);
  const auto z = losses(train).index({population});
  const auto z_refs = reference_losses(train).index({torch::indexing::Slice(), population});
  const auto raw = [&](const AttackData& d) {
    return attacks::rmia_offline(losses(d), reference_losses(d), z, z_refs, 0.2, 1.5);
  };
  attacks::MonotoneCalibration calibration(attacks::MonotoneCalibration::Transform::kRank);
  calibration.fit(raw(train), member, 1e-4);
  const auto expected = calibration(raw(test));
  ASSERT_EQ(scores.numel(), 3);
  for (std::int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(scores[i].item<float>(), expected[i].item<float>()) << i;  // the same arithmetic
  // A lower side loss never scores lower.
  EXPECT_GE(scores[0].item<float>(), scores[1].item<float>());
  EXPECT_GE(scores[1].item<float>(), scores[2].item<float>());
}

TEST(RmiaPlugin, WithoutReferencesOrGeneratedSamplesItSaysWhatItNeeds) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kAttack));
  auto attack = factory.make_attack(ctx);
  EXPECT_EQ(message_of([&] {
              attack->fit(with_losses({0.1, 0.2}, {}), torch::tensor({1.0, 0.0}), ctx);
            }),
            "rmia needs reference models: set [helper] count to 2 or more (helpers 2..count are "
            "the references)");
  EXPECT_EQ(message_of([&] {
              attack->fit(with_losses({0.1, 0.2}, {{0.3, 0.4}}), torch::tensor({1.0, 1.0}), ctx);
            }),
            "rmia: the attack-training set has no generated sample to use as the population");
}

}  // namespace
}  // namespace panoramia::testing
