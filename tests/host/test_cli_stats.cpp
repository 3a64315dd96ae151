// `panoramia stats`: scores produced elsewhere, in the reference CSV format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.hpp"

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
