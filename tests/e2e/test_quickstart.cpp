// The quickstart image audit end to end, scaled down: configs/quickstart.ini run by the built
// binary on Fashion-MNIST-shaped IDX files this test writes (28x28 grey images of ten classes of
// simple shapes, uncompressed, under the file names the config gives with .gz: the reader falls
// back to the plain files), with sizes cut by --set so that it takes seconds. It checks that the
// whole image pipeline (idx, stylegan2, wrn, image-distinguisher) completes, that the measurements
// are stored in the results database, and that a re-run from scratch gives the same numbers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/idx_shapes.hpp"
#include "support/run_panoramia.hpp"

namespace panoramia::testing {
namespace {

using ::testing::HasSubstr;

StoredMetrics metrics_of(const std::filesystem::path& db) {
  std::string error;
  auto metrics = stored_metrics(db, 1, &error);
  EXPECT_TRUE(error.empty()) << error;
  return metrics;
}

TEST(QuickstartAudit, TinyImageAuditCompletesStoresTheMeasurementsAndRepeats) {
  const TempDir dir;
  std::filesystem::create_directories(dir / "data");
  write_shapes(dir / "data", 3);
  // The quickstart's models and recipe at toy sizes: 500 images (the target trains on 250, 83 each
  // for the generator, the attack training and the test game; 250 held out), 200 StyleGAN2
  // training images, two target and helper epochs, three distinguisher epochs.
  const std::string sizes =
      " --set data.directory='" + (dir / "data").string() +
      "' --set split.max_samples=500 --set generator.kimg=0.2 --set generator.grid_per_class=2"
      " --set target.epochs=2 --set target.eval_every=1 --set attack.epochs=3"
      " --set audit.threads=1 --log-level warn";
  const auto audit = [&](const std::string& work) {
    return run_panoramia("audit '" + (source_dir() / "configs" / "quickstart.ini").string() +
                         "' --workdir '" + (dir / work).string() + "' --fresh" + sizes);
  };
  const auto first = audit("work1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("c_lb = "));
  EXPECT_THAT(first.output, HasSubstr("{eps+c}_lb = "));
  EXPECT_THAT(first.output, HasSubstr("eps_tilde = "));
  EXPECT_THAT(first.output, HasSubstr("results: run 1 in"));
  // 250 training images: a third of them (83) are the attack-test members' pool, so m = 83.
  EXPECT_THAT(first.output, HasSubstr("m = 83 "));
  // The game with real held-out non-members ran too ([game] nonmembers = both).
  EXPECT_THAT(first.output, HasSubstr("real {eps+c}_lb"));
  // The generator drew its sample grid for inspection, and the idx reader's previews (PNG grids
  // of real and generated images) are on the report's page.
  EXPECT_FALSE(find_files(dir / "work1", "samples.png").empty());
  {
    std::string error;
    const std::string page = report_page(dir / "work1" / "results.db", 1, &error);
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_THAT(page, HasSubstr("alt=\"Real samples\" src=\"data:image/png;base64,iVBORw0KGgo"));
    EXPECT_THAT(page, HasSubstr("alt=\"Generated samples\" src=\"data:image/png;base64,"));
  }

  const auto metrics = metrics_of(dir / "work1" / "results.db");
  ASSERT_TRUE(metrics.count("audit") && metrics.at("audit").count("c_lb"));
  const double c_lb = metrics.at("audit").at("c_lb");
  EXPECT_EQ(metrics.at("audit").at("m"), 83);
  // The bounds are between 0 and the saturation of a perfect guesser on every member:
  // logit(level^(1/r)) with r = members and level 0.05 / 200.
  const double members = metrics.at("audit").at("members");
  const double q = std::pow(0.05 / 200, 1 / members);
  const double ceiling = std::log(q / (1 - q)) + 1e-9;
  EXPECT_GE(c_lb, 0);
  EXPECT_LE(c_lb, ceiling);
  EXPECT_EQ(metrics.at("baseline_pred").at("c_lb"), c_lb);
  for (const std::string variant : {"real/mia_best_pred", "real/mia_final_pred"}) {
    ASSERT_TRUE(metrics.count(variant)) << variant;
    EXPECT_TRUE(metrics.at(variant).count("eps_c_lb")) << variant;
  }
  for (const std::string variant : {"mia_best_pred", "mia_final_pred"}) {
    SCOPED_TRACE(variant);
    ASSERT_TRUE(metrics.count(variant));
    const auto& m = metrics.at(variant);
    ASSERT_TRUE(m.count("eps_c_lb") && m.count("eps_tilde") && m.count("auc"));
    EXPECT_GE(m.at("eps_c_lb"), 0);
    EXPECT_LE(m.at("eps_c_lb"), ceiling);
    // One float64 subtraction stored at full precision: ≤ u64·|ε| ≈ 1e-15 apart; 1e-9 only guards
    // a serialisation to fewer digits, while the wrong baseline is ≥ 1e-3 off.
    EXPECT_NEAR(m.at("eps_tilde"), m.at("eps_c_lb") - c_lb, 1e-9);
    EXPECT_GE(m.at("auc"), 0);
    EXPECT_LE(m.at("auc"), 1);
  }

  // Same config and seed, from scratch in another work directory: the same numbers.
  const auto second = audit("work2");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const auto again = metrics_of(dir / "work2" / "results.db");
  for (const std::string attack : {"baseline_pred", "mia_best_pred", "mia_final_pred"})
    for (const std::string name : {"c_lb", "eps_c_lb", "eps_tilde", "auc"})
      if (metrics.at(attack).count(name)) {
        SCOPED_TRACE(attack + "/" + name);
        ASSERT_TRUE(again.count(attack) && again.at(attack).count(name));
        EXPECT_EQ(again.at(attack).at(name), metrics.at(attack).at(name));
      }
}

}  // namespace
}  // namespace panoramia::testing
