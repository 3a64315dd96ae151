// The `pt2` target on the AOTInductor package tests/torch2/make_models.py compiles with the
// wheel's PyTorch (the CTest fixture `torch2_models`): the logits it gives equal the ones Python
// got from the same package on the same images, and its errors name the file.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "pt2_target.hpp"

namespace panoramia::pt2 {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kModels = PANORAMIA_TORCH2_MODELS;

at::Tensor read_floats(const std::filesystem::path& file, std::vector<std::int64_t> shape) {
  std::ifstream in(file, std::ios::binary);
  auto t = torch::empty(shape, torch::kFloat32);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), std::streamsize(t.numel() * 4));
  EXPECT_EQ(in.gcount(), t.numel() * 4) << file;
  return t;
}

TEST(Pt2Target, GivesTheLogitsPythonGotFromTheSamePackage) {
  testing::TestContext ctx(torchscript::torchscript_options(), {}, 7);
  // make_models.py ran the package with one thread; so does this test. The compiled kernels are
  // the same machine code on the same float32 inputs in the same order, so every logit is equal
  // bit for bit; a loader that ran another graph or lost a constant is off by far more than 0.
  at::set_num_threads(1);
  Pt2Target target;
  EXPECT_FALSE(target.can_fit());
  target.load(kModels / "classifier.pt2", ctx);
  Batch b;
  b.x = read_floats(kModels / "inputs.bin", {8, 1, 28, 28});
  b.y = torch::arange(8, torch::kInt64);
  b.modality = "image";
  const auto expected = read_floats(kModels / "outputs.bin", {8, 10});
  const auto s = target.side_signals(b, "final", ctx);
  ASSERT_EQ(s.logits.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(s.logits, expected)) << (s.logits - expected).abs().max().item<double>();
  // The loss is the cross-entropy at the label of those logits.
  EXPECT_TRUE(torch::equal(
      s.loss, torch::nn::functional::cross_entropy(
                  expected, b.y,
                  torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))));

  // save() keeps a copy that load() reads back from the directory.
  const auto dir = ctx.work_dir() / "saved";
  std::filesystem::create_directories(dir);
  target.save(dir, ctx);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "model.pt2"));
  Pt2Target again;
  again.load(dir, ctx);
  EXPECT_TRUE(torch::equal(again.side_signals(b, "final", ctx).logits, s.logits));
}

TEST(Pt2Target, ErrorsNameTheFile) {
  testing::TestContext ctx(torchscript::torchscript_options(), {}, 7);
  Pt2Target missing;
  try {
    missing.load(ctx.work_dir() / "nope.pt2", ctx);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("AOTInductor package"));
    EXPECT_THAT(e.what(), HasSubstr("nope.pt2 does not exist"));
  }
  const auto junk = ctx.work_dir() / "junk.pt2";
  std::ofstream(junk) << "not a zip archive";
  Pt2Target bad;
  try {
    bad.load(junk, ctx);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot load AOTInductor package " + junk.string()));
  }
  Batch b;
  EXPECT_THROW(bad.fit(b, b, ctx), std::logic_error);
}

}  // namespace
}  // namespace panoramia::pt2
