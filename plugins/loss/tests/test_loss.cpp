// The `loss` featurizer through the entry point the host calls (its source is compiled into this
// test): which columns each option adds, in which order, and the errors.
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>
#include <panoramia/testing.hpp>

extern "C" panoramia::PluginFactory* panoramia_plugin_factory();

namespace panoramia::testing {
namespace {

using ::testing::HasSubstr;

at::Tensor featurize(const std::map<std::string, std::string>& options, const Batch& samples,
                     const SideSignals& side) {
  auto& factory = *panoramia_plugin_factory();
  TestContext ctx(factory.options(kFeaturizer), options);
  return factory.make_featurizer(ctx)->featurize(samples, side, ctx);
}

struct Example {
  Batch samples;
  SideSignals side;
};

Example two_samples() {
  Example e;
  e.samples.x = torch::tensor({10.0F, 20.0F, 30.0F, 40.0F}).reshape({2, 2});
  e.samples.modality = "vector";
  e.side.loss = torch::tensor({0.5F, 2.0F});
  e.side.loss_vector = torch::tensor({1.0F, 2.0F, 3.0F, 4.0F, 5.0F, 6.0F}).reshape({2, 3});
  e.side.logits = torch::tensor({-1.0F, 1.0F, 7.0F, 8.0F}).reshape({2, 2});
  return e;
}

TEST(LossFeaturizer, DefaultsAreTheLossItsLogAndTheLossVector) {
  const auto e = two_samples();
  const auto f = featurize({}, e.samples, e.side);
  ASSERT_EQ(f.sizes(), (std::vector<std::int64_t>{2, 5}));
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  // Columns: loss, log(loss), the loss vector. The log is LibTorch's float32 log (vectorised
  // implementations are within a few ulp; one ulp near 0.69 is 6e-8): 3e-7 allows 5 ulp.
  EXPECT_EQ(f[1][0].item<float>(), 2.0F);
  EXPECT_NEAR(f[0][1].item<float>(), std::log(0.5), 3e-7);
  EXPECT_NEAR(f[1][1].item<float>(), std::log(2.0), 3e-7);
  EXPECT_TRUE(torch::equal(f.slice(1, 2, 5), e.side.loss_vector));
}

TEST(LossFeaturizer, EachOptionAddsItsColumnsInOrder) {
  const auto e = two_samples();
  const auto f = featurize(
      {{"log_loss", "false"}, {"loss_vector", "false"}, {"logits", "true"}, {"raw", "true"}},
      e.samples, e.side);
  // loss | logits | raw sample.
  const auto expected = torch::tensor({0.5F, -1.0F, 1.0F, 10.0F, 20.0F,  //
                                       2.0F, 7.0F, 8.0F, 30.0F, 40.0F})
                            .reshape({2, 5});
  EXPECT_TRUE(torch::equal(f, expected)) << f;
  // A signal the side model does not give is left out rather than invented.
  auto no_logits = e.side;
  no_logits.logits = at::Tensor();
  EXPECT_EQ(featurize({{"logits", "true"}}, e.samples, no_logits).size(1), 5);
}

TEST(LossFeaturizer, RefusesMissingOrMisalignedLosses) {
  auto e = two_samples();
  auto side = e.side;
  side.loss = at::Tensor();
  EXPECT_THAT(message_of([&] { featurize({}, e.samples, side); }), HasSubstr("no loss"));
  side.loss = torch::tensor({1.0F, 2.0F, 3.0F});
  EXPECT_THAT(message_of([&] { featurize({}, e.samples, side); }),
              HasSubstr("3 losses for 2 samples"));
}

}  // namespace
}  // namespace panoramia::testing
