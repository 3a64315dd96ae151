// The text attacks: ROC/partial-AUC and split helpers against hand-computed values, the
// loss-vector MLP on synthetic loss vectors, and the text-distinguisher learning from the side
// features alone (phase 1) and from the tokens alone (phase 2), deterministically.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "distinguisher.hpp"
#include "loss_vector_attack.hpp"
#include "metrics.hpp"

namespace panoramia::text_attacks {
namespace {

using panoramia::testing::message_of;
using panoramia::testing::TestContext;
using ::testing::HasSubstr;

TEST(Metrics, AucPartialAucAccuracyAndSplit) {
  const auto s = torch::tensor({0.9, 0.8, 0.7, 0.6});
  const auto y = torch::tensor({1.0, 0.0, 1.0, 0.0});
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 0.75);
  // Area 0.25 up to FPR 0.5, standardised: 0.5 * (1 + (0.25 - 0.125) / (0.5 - 0.125)).
  EXPECT_NEAR(roc_auc(s, y, 0.5), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.5, 0.5}), torch::tensor({1.0, 0.0})), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0.1, 0.9}), torch::tensor({0.0, 1.0}), 0.1), 1.0);
  EXPECT_TRUE(std::isnan(roc_auc(s, torch::ones({4}))));
  EXPECT_DOUBLE_EQ(accuracy(s, y), 0.5);
  const auto labels = torch::cat({torch::ones({30}), torch::zeros({70})});
  auto [train, val] = stratified_split(labels, 0.2, at::make_generator<at::CPUGeneratorImpl>(1));
  EXPECT_EQ(val.size(0), 6 + 14);
  EXPECT_EQ(labels.index_select(0, val).sum().item<float>(), 6);
  EXPECT_TRUE(torch::equal(std::get<0>(torch::cat({train, val}).sort()), torch::arange(100)));
}

AttackData loss_vectors(std::int64_t n, std::uint64_t seed, at::Tensor& members) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  members = torch::bernoulli(torch::full({n}, 0.5), gen);
  // 15 per-token losses: members fit the first five tokens better.
  auto losses = (torch::randn({n, 15}, gen) * 0.8 + 3).clamp_min(0);
  losses.slice(1, 0, 5) -= members.unsqueeze(1) * 1.0;
  AttackData d;
  d.samples.x = torch::zeros({n, 16}, torch::kInt64);
  d.samples.modality = "text";
  d.side.loss_vector = losses.clamp_min(0);
  d.side.loss = d.side.loss_vector.mean(1);
  d.features = torch::cat({d.side.loss_vector, d.side.loss.unsqueeze(1)}, 1);
  return d;
}

TEST(LossVectorAttack, SeparatesMembersAndIsDeterministic) {
  at::Tensor train_y, test_y;
  const auto train = loss_vectors(600, 1, train_y);
  const auto test = loss_vectors(400, 2, test_y);
  const auto run = [&] {
    torch::manual_seed(3);  // dropout draws from LibTorch's global generator, seeded by the host
    TestContext ctx(LossVectorAttack::option_specs(), {{"epochs", "40"}}, 3);
    LossVectorAttack attack;
    attack.fit(train, train_y, ctx);
    return attack.score(test, ctx);
  };
  const auto scores = run();
  ASSERT_EQ(scores.sizes(), (std::vector<std::int64_t>{400}));
  EXPECT_GE(scores.min().item<float>(), 0);
  EXPECT_LE(scores.max().item<float>(), 1);
  EXPECT_GT(roc_auc(scores, test_y), 0.9);
  EXPECT_TRUE(torch::equal(run(), scores));
  AttackData no_features = test;
  no_features.features = at::Tensor();
  TestContext ctx(LossVectorAttack::option_specs());
  LossVectorAttack attack;
  EXPECT_THAT(message_of([&] { attack.fit(no_features, test_y, ctx); }),
              HasSubstr("needs features [n, d]"));
}

// Blocks of 8 tokens over a vocabulary of 32; `token_signal`: members use tokens 0-15 and
// non-members 16-31; otherwise the tokens carry nothing and the side features do.
AttackData text_game(std::int64_t n, std::uint64_t seed, bool token_signal, at::Tensor& members) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  members = torch::bernoulli(torch::full({n}, 0.5), gen);
  AttackData d;
  auto tokens = torch::randint(0, 16, {n, 8}, gen, torch::kInt64);
  if (token_signal)
    tokens += (1 - members.to(torch::kInt64)).unsqueeze(1) * 16;
  else
    tokens += torch::randint(0, 2, {n, 1}, gen, torch::kInt64) * 16;
  d.samples.x = tokens;
  d.samples.modality = "text";
  auto losses = torch::randn({n, 7}, gen) + 3;
  if (!token_signal) losses -= members.unsqueeze(1) * 1.5;
  d.features = losses;
  return d;
}

std::map<std::string, std::string> tiny_distinguisher(const std::string& phase1,
                                                      const std::string& phase2) {
  return {{"preset", "tiny"},   {"width", "32"},      {"context", "16"},
          {"vocab_size", "32"}, {"dropout", "0"},     {"phase1_steps", phase1},
          {"steps", phase2},    {"lr", "3e-3"},       {"warmup_steps", "10"},
          {"batch_size", "32"}, {"eval_every", "10"}, {"max_fpr", "1"}};
}

TEST(TextDistinguisher, PhaseOneLearnsFromTheSideFeatures) {
  at::Tensor train_y, test_y;
  const auto train = text_game(400, 1, false, train_y);
  const auto test = text_game(300, 2, false, test_y);
  TestContext ctx(TextDistinguisherAttack::option_specs(), tiny_distinguisher("400", "0"), 4);
  TextDistinguisherAttack attack;
  attack.fit(train, train_y, ctx);
  const auto scores = attack.score(test, ctx);
  ASSERT_EQ(scores.sizes(), (std::vector<std::int64_t>{300}));
  EXPECT_GT(roc_auc(scores, test_y), 0.9);
}

TEST(TextDistinguisher, PhaseTwoLearnsFromTheTokensAndIsDeterministic) {
  at::Tensor train_y, test_y;
  const auto train = text_game(400, 3, true, train_y);
  const auto test = text_game(300, 4, true, test_y);
  const auto run = [&] {
    TestContext ctx(TextDistinguisherAttack::option_specs(), tiny_distinguisher("20", "120"), 5);
    TextDistinguisherAttack attack;
    attack.fit(train, train_y, ctx);
    return attack.score(test, ctx);
  };
  const auto scores = run();
  EXPECT_GT(roc_auc(scores, test_y), 0.9);
  EXPECT_TRUE(torch::equal(run(), scores));
  // Without phase 2 the side features (noise here) give nothing.
  TestContext ctx(TextDistinguisherAttack::option_specs(), tiny_distinguisher("20", "0"), 5);
  TextDistinguisherAttack side_only;
  side_only.fit(train, train_y, ctx);
  EXPECT_LT(roc_auc(side_only.score(test, ctx), test_y), 0.7);
}

}  // namespace
}  // namespace panoramia::text_attacks
