#include <cstdlib>
#include <fstream>
#include <iostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <panoramia/testing.hpp>

#include "classifier.hpp"
#include "torchscript_target.hpp"

namespace panoramia::torchscript {
namespace {

using ::testing::HasSubstr;

/// A linear classifier over 3x4x4 inputs, scripted and saved from C++ (TorchScript's compiler is
/// part of LibTorch).
torch::jit::Module scripted_classifier(const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::jit::Module m("LinearClassifier");
  m.register_parameter("weight", weight, false);
  m.register_parameter("bias", bias, false);
  m.define(R"JIT(
def forward(self, x):
    return torch.matmul(x.flatten(1), self.weight.t()) + self.bias
)JIT");
  return m;
}

Batch grey_images(std::int64_t n) {
  Batch b;
  b.x = torch::rand({n, 1, 2, 2});
  b.y = torch::arange(n, torch::kInt64) % 5;
  b.modality = "image";
  return b;
}

TEST(TorchScriptTarget, AppliesTheDeclaredPreprocessingAndGivesLossesAtTheLabel) {
  testing::TestContext ctx(torchscript_options(),
                           {{"scale", "255"},
                            {"image_size", "4"},
                            {"channels", "3"},
                            {"normalization", "custom"},
                            {"mean", "100,110,120"},
                            {"std", "50"}},
                           7);
  const auto weight = torch::randn({5, 48}) * 0.01, bias = torch::randn({5});
  const auto file = ctx.work_dir() / "classifier.pt";
  scripted_classifier(weight, bias).save(file.string());

  TorchScriptTarget target;
  EXPECT_FALSE(target.can_fit());
  target.load(file, ctx);
  const auto samples = grey_images(7);
  const auto s = target.side_signals(samples, "final", ctx);

  // The same preprocessing by hand: x255, grey to RGB, 2x2 -> 4x4 bilinear, (x - mean) / std.
  auto x = (samples.x * 255).expand({-1, 3, -1, -1});
  x = torch::upsample_bilinear2d(x, {4, 4}, false);
  x = (x - torch::tensor({100.0f, 110.0f, 120.0f}).view({1, 3, 1, 1})) / 50.0;
  const auto logits = torch::matmul(x.flatten(1), weight.t()) + bias;
  // Float32, the same arithmetic in possibly other orders: each logit is a 48-term dot product of
  // inputs that took ~7 roundings each (scale, 4-tap bilinear, mean, std), so the two differ by
  // ≤ 2·γ·u·(|x|·|W|ᵀ + |b|) with γ = 48 + 7 (tests/dist/tolerance.hpp); the loss, a log-softmax
  // over 5 logits (2-Lipschitz in the largest logit error), by twice the largest logit bound plus
  // its own 2·(5 + 2)·u·(|loss| + max|z|). Preprocessing left out or applied twice (x255, mean,
  // std) changes the logits by ≥ 1e-2.
  const double u = 0x1p-24;
  const auto logit_bound =
      2 * (48 + 7) * u *
      (torch::matmul(x.flatten(1).abs(), weight.abs().t()) + bias.abs()).to(torch::kFloat64);
  const auto logit_diff = (s.logits.to(torch::kFloat64) - logits.to(torch::kFloat64)).abs();
  EXPECT_TRUE((logit_diff <= logit_bound).all().item<bool>()) << logit_diff.max().item<double>();
  const auto loss = image::per_example_loss(logits, samples.y).to(torch::kFloat64);
  const auto loss_bound = 2 * logit_bound.max() +
                          2 * (5 + 2) * u * (loss.abs() + logits.abs().amax(1).to(torch::kFloat64));
  const auto loss_diff = (s.loss.to(torch::kFloat64) - loss).abs();
  EXPECT_TRUE((loss_diff <= loss_bound).all().item<bool>()) << loss_diff.max().item<double>();
  std::cout << "max |target - by hand|: logits " << logit_diff.max().item<double>() << " (bound "
            << logit_bound.max().item<double>() << "), losses " << loss_diff.max().item<double>()
            << " (bound " << loss_bound.max().item<double>() << ")\n";
  EXPECT_EQ(target.variants(), (std::vector<std::string>{"final"}));

  // save() keeps a copy that load() reads from the directory.
  const auto dir = ctx.work_dir() / "saved";
  std::filesystem::create_directories(dir);
  target.save(dir, ctx);
  TorchScriptTarget again;
  again.load(dir, ctx);
  EXPECT_TRUE(torch::equal(again.side_signals(samples, "final", ctx).loss, s.loss));
}

TEST(TorchScriptTarget, ProbabilityOutputsAndErrors) {
  testing::TestContext ctx(torchscript_options(), {{"output", "probabilities"}}, 7);
  torch::jit::Module m("Probabilities");
  m.define(R"JIT(
def forward(self, x):
    return torch.softmax(x.flatten(1), 1)
)JIT");
  const auto file = ctx.work_dir() / "p.pt";
  m.save(file.string());
  TorchScriptTarget target;
  target.load(file, ctx);
  Batch b = grey_images(3);
  b.y = torch::tensor({0, 3, 1}, torch::kInt64);
  const auto s = target.side_signals(b, "final", ctx);
  const auto expected =
      -torch::log_softmax(b.x.flatten(1), 1).gather(1, b.y.unsqueeze(1)).squeeze(1);
  // Float32: -log(softmax) against -log_softmax over 4 inputs in [0, 1): the probability carries
  // ≤ (4 + 3)·u relative error, which the log turns into an absolute one, plus u·|loss|: ≤ 1e-6
  // for losses ≤ 2, inside atol 1e-5; a loss taken on the wrong output differs by ≥ 1e-2.
  EXPECT_TRUE(torch::allclose(s.loss, expected, 1e-4, 1e-5))
      << (s.loss - expected).abs().max().item<double>();

  b.y = torch::tensor({0, 4, 1}, torch::kInt64);  // only 4 outputs
  EXPECT_THROW(target.side_signals(b, "final", ctx), std::invalid_argument);
  EXPECT_THROW(target.fit(b, b, ctx), std::logic_error);
  TorchScriptTarget missing;
  try {
    missing.load(ctx.work_dir() / "nope.pt", ctx);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("nope.pt does not exist"));
  }
}

// A module scripted in Python (torch.jit.script of an nn.Module) by Debian's python3-torch.
TEST(TorchScriptTarget, LoadsAModuleScriptedInPython) {
  testing::TestContext ctx(torchscript_options(), {}, 7);
  const auto file = ctx.work_dir() / "py.pt", script = ctx.work_dir() / "make.py";
  std::ofstream(script) << "import sys, torch\n"
                           "class Net(torch.nn.Module):\n"
                           "    def __init__(self):\n"
                           "        super().__init__()\n"
                           "        self.conv = torch.nn.Conv2d(1, 4, 3)\n"
                           "        self.fc = torch.nn.Linear(4, 3)\n"
                           "    def forward(self, x):\n"
                           "        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))\n"
                           "torch.manual_seed(0)\n"
                           "torch.jit.script(Net()).save(sys.argv[1])\n";
  const std::string command =
      "/usr/bin/python3 " + script.string() + " " + file.string() + " > /dev/null 2>&1";
  // scripts/install-deps installs python3-torch: a missing one is a failure, not a skip.
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "python3 could not script the module (is python3-torch installed?)";
  TorchScriptTarget target;
  target.load(file, ctx);
  Batch b;
  b.x = torch::rand({4, 1, 8, 8});
  b.y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  const auto s = target.side_signals(b, "final", ctx);
  EXPECT_EQ(s.logits.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE((s.loss > 0).all().item<bool>());
}

// What LibTorch 1.13 says when a module saved by PyTorch 2.x calls an operator it lacks (copied
// from its message's form: the op, a suggestion, and the code with a caret), in one sentence.
TEST(TorchScriptTarget, AnOperatorThisLibTorchLacksIsNamedWithTheVersion) {
  const std::string what =
      "\nUnknown builtin op: aten::scaled_dot_product_attention.\n"
      "Here are some suggestions: \n\taten::_scaled_dot_product_attention\n\n"
      "The original call is:\n  File \"code/__torch__.py\", line 13\n";
  const auto sentence = describe_load_failure("/models/m.pt", what);
  EXPECT_EQ(sentence.find('\n'), std::string::npos) << sentence;
  EXPECT_THAT(sentence, HasSubstr("TorchScript model /models/m.pt calls "
                                  "aten::scaled_dot_product_attention, which this build's "
                                  "LibTorch " TORCH_VERSION " does not have"));
  EXPECT_THAT(sentence, HasSubstr("saved by a newer PyTorch"));
  // Anything else: LibTorch's first line, after the file.
  EXPECT_EQ(describe_load_failure("/m.pt", "PytorchStreamReader failed reading zip archive\nmore"),
            "cannot load TorchScript model /m.pt: PytorchStreamReader failed reading zip archive");
}

}  // namespace
}  // namespace panoramia::torchscript
