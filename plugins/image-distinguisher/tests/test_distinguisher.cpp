#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "attack.hpp"
#include "loss_features.hpp"
#include "model_state.hpp"
#include "network.hpp"

namespace panoramia::distinguisher {
namespace {

TEST(Encoder, ResNet18HasItsParameterCount) {
  // torchvision's ResNet-18 has 11,689,512 parameters with its 7x7 stem and 1000-way head; the
  // CIFAR layout (3x3 stem, no head) has 11,168,832.
  Encoder resnet18(EncoderOptions{});
  EXPECT_EQ(image::count_parameters(*resnet18), 11168832);
  EXPECT_EQ(resnet18->out_features(), 512);
  EXPECT_EQ(resnet18->forward(torch::rand({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 512}));
}

TEST(Distinguisher, BranchesAndShapes) {
  DistinguisherOptions o;
  o.encoder = EncoderOptions{1, 8, {1, 1}};
  o.features = 3;
  Distinguisher both(o);
  EXPECT_EQ(both->forward(torch::rand({4, 1, 28, 28}), torch::rand({4, 3})).sizes(),
            (std::vector<int64_t>{4}));
  o.image_branch = false;
  Distinguisher features_only(o);
  EXPECT_EQ(features_only->forward({}, torch::rand({5, 3})).sizes(), (std::vector<int64_t>{5}));
  o.features = 0;
  EXPECT_THROW(Distinguisher none(o), std::invalid_argument);
}

TEST(LossFeatures, ColumnsFollowTheLogits) {
  Batch b;
  b.x = torch::zeros({2, 1, 2, 2});
  b.y = torch::tensor({0, 2}, torch::kInt64);
  SideSignals s;
  s.logits = torch::tensor({{2.0f, 0.0f, 1.0f}, {0.0f, 3.0f, 1.0f}});
  s.loss = -torch::log_softmax(s.logits, 1).gather(1, b.y.unsqueeze(1)).squeeze(1);
  const auto f = loss_features(b, s, {});
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 5}));
  // Float32 features against the same formulas: log(loss) of a loss ≈ 0.42, two roundings and
  // the log's relative error 1/|log| ≈ 1.2 times the loss's: ≲ 4·u ≈ 3e-7 (1e-5 is 40x); the
  // margins 2 - 1 and 1 - 3 are exact; the softmax's max, ≤ (3 + 2)·u ≈ 3e-7. A column from the
  // wrong logit is off by ≥ 0.1.
  EXPECT_NEAR(f[0][1].item<float>(), std::log(s.loss[0].item<float>()), 1e-5);
  EXPECT_NEAR(f[0][2].item<float>(), 1.0f, 1e-6);   // 2 - max(0, 1)
  EXPECT_NEAR(f[1][2].item<float>(), -2.0f, 1e-6);  // 1 - 3
  EXPECT_NEAR(f[1][3].item<float>(), torch::softmax(s.logits[1], 0).max().item<float>(), 1e-6);
  s.logits = at::Tensor();
  EXPECT_EQ(loss_features(b, s, {}).size(1), 2);
  s.loss = torch::zeros({3});
  EXPECT_THROW(loss_features(b, s, {}), std::invalid_argument);
}

TEST(RocAuc, KnownValues) {
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.1, 0.4, 0.35, 0.8}), torch::tensor({0, 0, 1, 1})),
                   0.75);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.5, 0.5}), torch::tensor({0, 1})), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.9, 0.1}), torch::tensor({1, 0})), 1.0);
}

// Members are images with a bright blob in the upper half, generated ones in the lower half; the
// side feature is pure noise. The CNN alone must learn to separate them.
AttackData blobs(std::int64_t n, std::uint64_t seed, at::Tensor& is_member) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  AttackData d;
  d.samples.x = torch::rand({n, 1, 16, 16}, g) * 0.5;
  is_member = torch::randint(0, 2, {n}, g, torch::kInt64).to(torch::kFloat32);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto row =
        torch::randint(0, 4, {1}, g).item<int64_t>() + (is_member[i].item<float>() > 0 ? 0 : 8);
    const auto col = torch::randint(0, 11, {1}, g).item<int64_t>();
    d.samples.x[i].narrow(1, row, 5).narrow(2, col, 5).add_(0.5);
  }
  d.samples.y = torch::zeros({n}, torch::kInt64);
  d.samples.modality = "image";
  d.features = torch::randn({n, 2}, g);
  return d;
}

std::map<std::string, std::string> small_cnn() {
  return {{"width", "8"},        {"blocks", "1,1"}, {"epochs", "10"},         {"batch_size", "32"},
          {"optimizer", "adam"}, {"lr", "0.003"},   {"schedule", "constant"}, {"patience", "4"}};
}

TEST(DistinguisherAttack, SeparatesTwoEasyClasses) {
  testing::TestContext ctx(attack_options(), small_cnn(), 7);
  at::Tensor train_y, test_y;
  const auto train = blobs(256, 1, train_y);
  const auto test = blobs(128, 2, test_y);
  DistinguisherAttack attack;
  attack.fit(train, train_y, ctx);
  const auto p = attack.score(test, ctx);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{128}));
  EXPECT_GE(p.min().item<float>(), 0.0f);
  EXPECT_LE(p.max().item<float>(), 1.0f);
  EXPECT_GT(roc_auc(p, test_y), 0.95);
  EXPECT_GE(attack.selection().best_epoch, 1);
}

TEST(DistinguisherAttack, UsesTheFeaturesWhenTheyCarryTheSignal) {
  auto options = small_cnn();
  options["image_branch"] = "false";
  options["optimizer"] = "adam";
  options["lr"] = "0.01";
  testing::TestContext ctx(attack_options(), options, 7);
  at::Tensor train_y, test_y;
  auto train = blobs(256, 3, train_y);
  auto test = blobs(128, 4, test_y);
  // A "loss" feature: low for members, high for generated samples, with overlap.
  train.features.select(1, 0).add_(3 * (1 - train_y));
  test.features.select(1, 0).add_(3 * (1 - test_y));
  DistinguisherAttack attack;
  attack.fit(train, train_y, ctx);
  EXPECT_GT(roc_auc(attack.score(test, ctx), test_y), 0.9);
  AttackData missing = test;
  missing.features = torch::randn({128, 5});
  EXPECT_THROW(attack.score(missing, ctx), std::invalid_argument);
}

TEST(DistinguisherAttack, SameSeedSameScores) {
  auto options = small_cnn();
  options["epochs"] = "2";
  options["dropout"] = "0.2";
  options["flip"] = "true";
  at::Tensor y;
  const auto data = blobs(64, 5, y);
  testing::TestContext c1(attack_options(), options, 9), c2(attack_options(), options, 9);
  DistinguisherAttack a1, a2;
  a1.fit(data, y, c1);
  a2.fit(data, y, c2);
  EXPECT_TRUE(torch::equal(a1.score(data, c1), a2.score(data, c2)));
}

}  // namespace
}  // namespace panoramia::distinguisher
