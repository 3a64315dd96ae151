#include <iostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "classifier_target.hpp"
#include "image_batch.hpp"
#include "toy_images.hpp"
#include "wide_resnet.hpp"
#include "wrn_target.hpp"

namespace panoramia::wrn {
namespace {

using image::count_parameters;

std::int64_t parameters_of(std::int64_t depth, std::int64_t width, std::int64_t channels = 3) {
  WideResNetOptions o;
  o.depth = depth;
  o.width = width;
  o.in_channels = channels;
  return count_parameters(*WideResNet(o));
}

// Zagoruyko & Komodakis report WRN-28-10 with 36.5M and WRN-16-4 with 2.7M parameters on CIFAR-10.
TEST(WideResNet, ParameterCountsMatchThePublishedOnes) {
  const auto wrn_28_10 = parameters_of(28, 10);
  EXPECT_EQ(wrn_28_10, 36479194);
  EXPECT_NEAR(double(wrn_28_10) / 1e6, 36.5, 0.05);
  const auto wrn_16_4 = parameters_of(16, 4);
  EXPECT_EQ(wrn_16_4, 2748890);
  EXPECT_NEAR(double(wrn_16_4) / 1e6, 2.7, 0.05);
}

TEST(WideResNet, ForwardShapesForColourAndGrayImages) {
  WideResNetOptions o;
  o.depth = 10;
  o.width = 1;
  o.classes = 7;
  WideResNet color(o);
  EXPECT_EQ(color->forward(torch::rand({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 7}));
  o.in_channels = 1;
  WideResNet gray(o);
  EXPECT_EQ(gray->forward(torch::rand({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 7}));
  EXPECT_THROW(
      {
        o.depth = 12;
        WideResNet bad(o);
      },
      std::invalid_argument);
}

std::vector<OptionSpec> specs() {
  return wrn_options();
}

std::map<std::string, std::string> fast_training() {
  return {{"depth", "10"},       {"width", "1"},        {"dropout", "0"}, {"epochs", "8"},
          {"batch_size", "16"},  {"optimizer", "adam"}, {"lr", "0.005"},  {"schedule", "constant"},
          {"weight_decay", "0"}, {"crop_padding", "0"}, {"flip", "false"}};
}

TEST(WrnTarget, LearnsAToyTaskAndGivesPerExampleLosses) {
  testing::TestContext ctx(specs(), fast_training(), 7);
  WrnTarget target;
  const auto train = toy_images(96, 1), validation = toy_images(48, 2);
  target.fit(train, validation, ctx);
  EXPECT_EQ(target.variants(), (std::vector<std::string>{"best", "final"}));
  const auto members = target.side_signals(train, "final", ctx);
  const auto others = target.side_signals(validation, "final", ctx);
  ASSERT_EQ(members.loss.sizes(), (std::vector<int64_t>{96}));
  ASSERT_EQ(members.logits.sizes(), (std::vector<int64_t>{96, 2}));
  EXPECT_GT(image::accuracy(others.logits, validation.y), 0.9);
  // The loss is the cross-entropy at each sample's own label.
  const auto expected =
      torch::log_softmax(members.logits, 1).gather(1, train.y.unsqueeze(1)).squeeze(1).neg();
  // Float32 cross-entropy over 2 logits by the target and by hand here: log-sum-exp of 2 terms and
  // a subtraction, each within (2 + 2)·u·(|loss| + max|z|) of exact, so they differ by at most
  // twice that; the loss at another label would differ by the gap between the two logits.
  const auto diff = (members.loss - expected).abs().to(torch::kFloat64);
  const auto bound =
      2 * (2 + 2) * 0x1p-24 * (expected.abs() + members.logits.abs().amax(1)).to(torch::kFloat64);
  EXPECT_TRUE((diff <= bound).all().item<bool>()) << diff.max().item<double>();
  std::cout << "max |loss - cross-entropy by hand| " << diff.max().item<double>() << " (bound "
            << bound.max().item<double>() << ")\n";
  EXPECT_NO_THROW(target.side_signals(train, "best", ctx));
  EXPECT_THROW(target.side_signals(train, "middle", ctx), std::invalid_argument);
}

TEST(WrnTarget, SameSeedSameModelAndCheckpointRoundTrip) {
  auto options = fast_training();
  options["epochs"] = "2";
  options["dropout"] = "0.3";
  options["crop_padding"] = "2";
  options["flip"] = "true";
  const auto train = toy_images(40, 3), validation = toy_images(20, 4);
  testing::TestContext c1(specs(), options, 5), c2(specs(), options, 5);
  WrnTarget t1, t2;
  t1.fit(train, validation, c1);
  t2.fit(train, validation, c2);
  const auto l1 = t1.side_signals(validation, "final", c1).loss;
  EXPECT_TRUE(torch::equal(l1, t2.side_signals(validation, "final", c2).loss));

  t1.save(c1.work_dir(), c1);
  WrnTarget loaded;
  loaded.load(c1.work_dir(), c1);
  EXPECT_TRUE(torch::equal(l1, loaded.side_signals(validation, "final", c1).loss));
  EXPECT_TRUE(torch::equal(t1.side_signals(validation, "best", c1).loss,
                           loaded.side_signals(validation, "best", c1).loss));
}

TEST(WrnTarget, RejectsSamplesOfAnotherShapeOrClass) {
  auto options = fast_training();
  options["epochs"] = "1";
  testing::TestContext ctx(specs(), options, 7);
  WrnTarget target;
  target.fit(toy_images(16, 5), Batch{}, ctx);
  Batch wrong;
  wrong.x = torch::rand({2, 3, 12, 12});
  wrong.y = torch::zeros({2}, torch::kInt64);
  EXPECT_THROW(target.side_signals(wrong, "final", ctx), std::invalid_argument);
  auto labelled = toy_images(2, 6);
  labelled.y.fill_(5);
  EXPECT_THROW(target.side_signals(labelled, "final", ctx), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::wrn
