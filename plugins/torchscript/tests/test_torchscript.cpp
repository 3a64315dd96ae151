#include <cstdlib>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "classifier.hpp"
#include "test_context.hpp"
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
  testing::TestContext ctx(torchscript_options(), {{"scale", "255"},
                                                   {"image_size", "4"},
                                                   {"channels", "3"},
                                                   {"normalization", "custom"},
                                                   {"mean", "100,110,120"},
                                                   {"std", "50"}});
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
  EXPECT_TRUE(torch::allclose(s.logits, logits, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(s.loss, image::per_example_loss(logits, samples.y), 1e-4, 1e-5));
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
  testing::TestContext ctx(torchscript_options(), {{"output", "probabilities"}});
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
  EXPECT_TRUE(torch::allclose(s.loss, expected, 1e-4, 1e-5));

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

// A module scripted in Python (torch.jit.script of an nn.Module) when Debian's python3-torch is
// installed.
TEST(TorchScriptTarget, LoadsAModuleScriptedInPython) {
  testing::TestContext ctx(torchscript_options(), {});
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
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "no /usr/bin/python3 with torch";
  TorchScriptTarget target;
  target.load(file, ctx);
  Batch b;
  b.x = torch::rand({4, 1, 8, 8});
  b.y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  const auto s = target.side_signals(b, "final", ctx);
  EXPECT_EQ(s.logits.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE((s.loss > 0).all().item<bool>());
}

}  // namespace
}  // namespace panoramia::torchscript
