// The CI-sized tabular audit end to end: configs/adult-tiny.ini run by the built binary on an
// Adult-shaped file this test writes (15 columns, no header, ", " separators, CRLF, "?" values),
// so that the suite does not need the real data set.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using ::testing::HasSubstr;

std::filesystem::path env_path(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

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

struct Result {
  int exit_code = -1;
  std::string output;
};

Result run(const std::string& command) {
  Result r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(AdultTinyAudit, RunsEndToEndAndReportsBothVariantsAndCloseness) {
  auto build = env_path("PANORAMIA_BUILD_DIR");
  auto source = env_path("PANORAMIA_SOURCE_DIR");
  if (build.empty()) build = PANORAMIA_TEST_BUILD_DIR;
  if (source.empty()) source = PANORAMIA_TEST_SOURCE_DIR;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("panoramia-adult-tiny-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_adult_like(dir / "adult.data", 2500, 7);
  // Passive OpenMP waiting: on a shared, oversubscribed CI machine spinning threads make LibTorch's
  // small operations many times slower.
  const auto result = run("OMP_WAIT_POLICY=PASSIVE '" + (build / "bin" / "panoramia").string() +
                          "' audit '" + (source / "configs" / "adult-tiny.ini").string() +
                          "' --set data.path='" + (dir / "adult.data").string() + "' --workdir '" +
                          (dir / "work").string() + "' --log-level warn");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("c_lb = "));
  EXPECT_THAT(result.output, HasSubstr("mia_best_pred"));
  EXPECT_THAT(result.output, HasSubstr("mia_final_pred"));
  EXPECT_THAT(result.output, HasSubstr("m = 533"));  // a third of 80% of max_samples = 2000
  EXPECT_THAT(result.output, HasSubstr("ks:age"));
  EXPECT_THAT(result.output, HasSubstr("tv:workclass"));
  // The generator wrote its synthetic rows for inspection, with the data's column names.
  bool found = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "work"))
    if (entry.path().filename() == "synthetic-1.csv") {
      std::ifstream in(entry.path());
      std::string header;
      std::getline(in, header);
      EXPECT_EQ(header.rfind("age,workclass,fnlwgt,education,", 0), 0u) << header;
      found = true;
    }
  EXPECT_TRUE(found);
  std::filesystem::remove_all(dir);
}

}  // namespace
