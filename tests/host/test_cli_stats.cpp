// `panoramia stats`: scores produced elsewhere, in the reference CSV format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/run_panoramia.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using testing::run_panoramia;

TEST(CliStats, SaturatedColumnsGiveTheClosedFormBound) {
  testing::TempDir dir;
  // 762 members scored 1, 762 generated scored 0: every threshold in (0, 1) has r = v = 762, so
  // the bound is logit(2.5e-4^(1/762)) = 4.514961 (method section 1.7).
  std::string csv = "member,baseline_pred,mia_x_pred\n";
  for (int i = 0; i < 762; ++i) csv += "1,1,1\n0,0,0.5\n";
  testing::write_file(dir / "s.csv", csv);
  const auto r = run_panoramia("stats --csv s.csv --json", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("4.51496"));
}

TEST(CliStats, ChecksFlagANullFileAndASaturatedOne) {
  testing::TempDir dir;
  // Null: members and generated rows from one distribution (a fixed pseudo-random sequence).
  std::string null = "member,baseline_pred,mia_x_pred\n";
  std::uint64_t x = 12345;
  const auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(x >> 11) * 0x1.0p-53;
  };
  for (int i = 0; i < 2000; ++i)
    null += std::to_string(next() < 0.5 ? 1 : 0) + "," + std::to_string(next()) + "," +
            std::to_string(next()) + "\n";
  testing::write_file(dir / "null.csv", null);
  const auto r = run_panoramia("stats --csv null.csv", dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("c_lb = 0.000000"));
  EXPECT_THAT(r.output, HasSubstr("checks: the same sweep on 100 random permutations"));
  EXPECT_THAT(r.output, HasSubstr("warning: baseline_pred: c_lb = 0.0000 is not above the 95th"));
  EXPECT_THAT(r.output, HasSubstr("warning: mia_x_pred: {eps+c}_lb = 0.0000 is not above"));

  std::string separable = "member,baseline_pred,mia_x_pred\n";
  for (int i = 0; i < 762; ++i) separable += "1,1,1\n0,0,0.5\n";
  testing::write_file(dir / "s.csv", separable);
  const auto s = run_panoramia("stats --csv s.csv", dir.path());
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_THAT(s.output, HasSubstr("signal, saturated"));
  EXPECT_THAT(s.output, HasSubstr("eps_tilde cannot be read at this generator quality"));

  const auto off = run_panoramia("stats --csv s.csv --null-permutations 0", dir.path());
  EXPECT_THAT(off.output, HasSubstr("checks: null check off"));
  for (const std::string bad : {"--null-permutations -2", "--confidence 1.5", "--confidence nan"}) {
    const auto e = run_panoramia("stats --csv s.csv " + bad, dir.path());
    EXPECT_EQ(e.exit_code, 2) << bad << ": " << e.output;
    EXPECT_THAT(e.output, HasSubstr("error: --")) << bad;
  }
}

TEST(CliStats, MalformedFileNamesTheLine) {
  testing::TempDir dir;
  testing::write_file(dir / "bad.csv", "member,baseline_pred\n1,0.5\n0,abc\n");
  const auto r = run_panoramia("stats --csv bad.csv", dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad.csv"));
  EXPECT_THAT(r.output, HasSubstr("line 3"));
  testing::write_file(dir / "nobase.csv", "member,mia_pred\n1,0.5\n");
  EXPECT_EQ(run_panoramia("stats --csv nobase.csv", dir.path()).exit_code, 2);
  EXPECT_EQ(run_panoramia("stats --csv s.csv --mode sometimes", dir.path()).exit_code, 2);
}

}  // namespace
}  // namespace panoramia
