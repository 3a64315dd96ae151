// Models saved by current PyTorch (the wheel this LibTorch 2.x build uses; make_models.py writes
// them as the CTest fixture `torch2_models`), audited end to end by the built binary on
// Fashion-MNIST-shaped IDX files: a TorchScript module calling scaled_dot_product_attention (an
// operator LibTorch 1.13 lacks) through the `torchscript` target, and an AOTInductor package
// through the `pt2` target. When scripts/run-tests-libtorch2 names the LibTorch 1.13 build's
// binary, that binary must refuse the same TorchScript file in one sentence naming its version.
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/idx_shapes.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kModels = PANORAMIA_TORCH2_MODELS;

/// A small image audit of the frozen model `model` with target plugin `plugin` (the helper is a
/// WRN trained on the synthetic images, as a frozen target cannot train one).
std::string frozen_target_config(const std::filesystem::path& data, const std::string& plugin,
                                 const std::filesystem::path& model) {
  return "[audit]\nname = current-pytorch\nseed = 1\nthreads = 1\n"
         "[data]\nplugin = idx\ndirectory = " +
         data.string() +
         "\nimages = train-images-idx3-ubyte\nlabels = train-labels-idx1-ubyte\n"
         "[split]\nmax_samples = 500\ntarget_fraction = 0.5\n"
         "[generator]\nplugin = stylegan2\npreset = tiny\nkimg = 0.2\ngrid_per_class = 2\n"
         "noise_mode = random\n"
         "[target]\nplugin = " +
         plugin + "\nload = " + model.string() +
         "\n"
         "[helper]\nplugin = wrn\ndepth = 10\nwidth = 1\nepochs = 2\neval_every = 1\n"
         "batch_size = 32\nvalidation_fraction = 0.1\n"
         "[featurizer]\nplugin = image-distinguisher\nlogit_features = false\n"
         "[attack]\nplugin = image-distinguisher\nimage_branch = false\nepochs = 3\n";
}

class CurrentPyTorch : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "data");
    write_shapes(dir_ / "data", 3);
  }
  CommandResult audit(const std::string& plugin, const std::string& model_file,
                      const std::filesystem::path& binary_path = binary()) {
    const auto config = dir_ / (plugin + ".ini");
    write_file(config, frozen_target_config(dir_ / "data", plugin, kModels / model_file));
    return run_shell("'" + binary_path.string() + "' audit '" + config.string() + "' --workdir '" +
                     (dir_ / ("work-" + plugin)).string() + "' --fresh --log-level warn");
  }
  TempDir dir_;
};

TEST_F(CurrentPyTorch, TheTorchScriptTargetAuditsAModuleScriptedByPyTorch2WithSdpa) {
  const auto r = audit("torchscript", "sdpa.pt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("c_lb = "));
  EXPECT_THAT(r.output, HasSubstr("eps_tilde = "));
  std::string error;
  const auto metrics = stored_metrics(dir_ / "work-torchscript" / "results.db", 1, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(metrics.count("mia_final_pred"));
  EXPECT_GE(metrics.at("mia_final_pred").at("auc"), 0);
  EXPECT_LE(metrics.at("mia_final_pred").at("auc"), 1);
}

TEST_F(CurrentPyTorch, ThePt2TargetAuditsAnAotInductorPackage) {
  const auto r = audit("pt2", "classifier.pt2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("c_lb = "));
  std::string error;
  const auto metrics = stored_metrics(dir_ / "work-pt2" / "results.db", 1, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_TRUE(metrics.count("mia_final_pred"));
}

#ifdef PANORAMIA_LIBTORCH1_BINARY
TEST_F(CurrentPyTorch, LibTorch1RefusesTheSdpaModuleInOneSentenceNamingItsVersion) {
  const auto r = audit("torchscript", "sdpa.pt", PANORAMIA_LIBTORCH1_BINARY);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sdpa.pt calls aten::scaled_dot_product_attention, which this "
                                  "build's LibTorch 1.13"));
  EXPECT_THAT(r.output, HasSubstr("saved by a newer PyTorch"));
  EXPECT_THAT(r.output, Not(HasSubstr("Segmentation")));
}
#endif

}  // namespace
}  // namespace panoramia::testing
