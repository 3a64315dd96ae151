// The CI-sized tabular audit end to end: configs/adult-tiny.ini run by the built binary on an
// Adult-shaped file this test writes (15 columns, no header, ", " separators, CRLF, "?" values),
// so that the suite does not need the real data set.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/run_panoramia.hpp"

namespace panoramia::testing {
namespace {

using ::testing::HasSubstr;

// Rows shaped like UCI Adult, with an income label that depends on age, education and hours.
void write_adult_like(const std::filesystem::path& file, int rows, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  const std::vector<std::string> workclass = {"Private",   "Self-emp-not-inc", "Local-gov",
                                              "State-gov", "Federal-gov",      "?"};
  const std::vector<std::string> education = {"HS-grad",   "Some-college", "Bachelors", "Masters",
                                              "Assoc-voc", "11th",         "Doctorate"};
  const std::vector<int> education_num = {9, 10, 13, 14, 11, 7, 16};
  const std::vector<std::string> marital = {"Married-civ-spouse", "Never-married", "Divorced",
                                            "Separated", "Widowed"};
  const std::vector<std::string> occupation = {"Prof-specialty",
                                               "Craft-repair",
                                               "Exec-managerial",
                                               "Adm-clerical",
                                               "Sales",
                                               "Other-service",
                                               "?"};
  const std::vector<std::string> relationship = {"Husband", "Not-in-family", "Own-child",
                                                 "Unmarried", "Wife"};
  const std::vector<std::string> race = {"White", "Black", "Asian-Pac-Islander", "Other"};
  const std::vector<std::string> country = {"United-States", "Mexico", "Philippines", "Germany",
                                            "?"};
  std::ofstream out(file, std::ios::binary);
  for (int i = 0; i < rows; ++i) {
    const int age = std::clamp(static_cast<int>(38 + 13 * normal(rng)), 17, 90);
    const auto e = rng() % education.size();
    const int hours = std::clamp(static_cast<int>(40 + 12 * normal(rng)), 1, 99);
    const bool male = uniform(rng) < 0.67;
    const double logit =
        -9 + 0.05 * age + 0.45 * education_num[e] + 0.04 * hours + (male ? 0.8 : 0);
    const bool rich = uniform(rng) < 1 / (1 + std::exp(-logit));
    const int gain = uniform(rng) < 0.08 ? static_cast<int>(1000 + 9000 * uniform(rng)) : 0;
    const int loss = uniform(rng) < 0.05 ? static_cast<int>(1500 + 500 * uniform(rng)) : 0;
    out << age << ", " << pick(workclass) << ", " << static_cast<int>(190000 + 50000 * normal(rng))
        << ", " << education[e] << ", " << education_num[e] << ", " << pick(marital) << ", "
        << pick(occupation) << ", " << pick(relationship) << ", " << pick(race) << ", "
        << (male ? "Male" : "Female") << ", " << gain << ", " << loss << ", " << hours << ", "
        << pick(country) << ", " << (rich ? ">50K" : "<=50K") << "\r\n";
  }
}

TEST(AdultTinyAudit, RunsEndToEndAndReportsBothVariantsAndCloseness) {
  const TempDir dir;
  write_adult_like(dir / "adult.data", 2500, 7);
  const auto result =
      run_panoramia("audit '" + (source_dir() / "configs" / "adult-tiny.ini").string() +
                    "' --set data.path='" + (dir / "adult.data").string() + "' --workdir '" +
                    (dir / "work").string() + "' --log-level warn");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("c_lb = "));
  EXPECT_THAT(result.output, HasSubstr("mia_best_pred"));
  EXPECT_THAT(result.output, HasSubstr("mia_final_pred"));
  EXPECT_THAT(result.output, HasSubstr("m = 533"));  // a third of 80% of max_samples = 2000
  EXPECT_THAT(result.output, HasSubstr("ks:age"));
  EXPECT_THAT(result.output, HasSubstr("tv:workclass"));
  // The csv reader's previews and closeness measures are on the report's page.
  std::string error;
  const std::string page = report_page(dir / "work" / "results.db", 1, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_THAT(page, HasSubstr("<caption>Real samples</caption><tr><th>age</th><th>workclass</th>"));
  EXPECT_THAT(page, HasSubstr("<caption>Generated samples</caption><tr><th>age</th>"));
  EXPECT_THAT(page, HasSubstr("<tr><td>age</td><td>ks</td>"));
  EXPECT_THAT(page, HasSubstr("<tr><td>workclass</td><td>tv</td>"));
  // The generator wrote its synthetic rows for inspection, with the data's column names.
  const auto written = find_files(dir / "work", "synthetic-1.csv");
  ASSERT_FALSE(written.empty());
  for (const auto& file : written) {
    std::ifstream in(file);
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(header.rfind("age,workclass,fnlwgt,education,", 0), 0u) << header;
  }
}

}  // namespace
}  // namespace panoramia::testing
