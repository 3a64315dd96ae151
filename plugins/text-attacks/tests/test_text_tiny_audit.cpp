// The CPU-sized text audit end to end: configs/text-tiny.ini run by the built binary on a text file
// this test writes (short biographies with random names, places and numbers, in paragraphs, some
// of them with accents), so that the suite needs no corpus download.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using ::testing::HasSubstr;

// ctest sets these; the compiled-in paths are the fallback (e.g. running the binary directly).
std::filesystem::path env_path(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

void write_biographies(const std::filesystem::path& file, int paragraphs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> first = {"Maria", "John", "Aiko", "Pierre", "Ingrid", "Kwame",
                                          "Lucía", "Omar", "Sven", "Priya",  "Chen",   "Zoë"};
  const std::vector<std::string> last = {"Lopez",  "Smith",  "Tanaka",  "Dubois", "Berg", "Mensah",
                                         "García", "Haddad", "Nilsson", "Rao",    "Wei",  "Müller"};
  const std::vector<std::string> city = {"Kyoto", "Lyon",   "Accra",  "Oslo",  "Lima",  "Pune",
                                         "Cairo", "Quebec", "Bergen", "Porto", "Zürich"};
  const std::vector<std::string> job = {"bakery",   "shipyard",       "newspaper",
                                        "school",   "theatre",        "laboratory",
                                        "vineyard", "printing house", "museum"};
  const std::vector<std::string> verb = {"founded", "ran", "joined", "sold", "rebuilt", "managed"};
  std::ofstream out(file, std::ios::binary);
  for (int i = 0; i < paragraphs; ++i) {
    const std::string name = pick(first) + " " + pick(last);
    out << "In " << 1850 + rng() % 170 << ", " << name << " moved to " << pick(city) << " and "
        << pick(verb) << " a " << pick(job) << " with " << 2 + rng() % 300 << " employees. "
        << "The " << pick(job) << " in " << pick(city) << " closed after " << 1 + rng() % 40
        << " years, and " << name.substr(0, name.find(' ')) << " wrote " << 1 + rng() % 12
        << " books about it.\n\n";
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

TEST(TextTinyAudit, RunsEndToEndAndReportsEveryCheckpoint) {
  const auto build = env_path("PANORAMIA_BUILD_DIR", TEXT_AUDIT_BUILD_DIR);
  const auto source = env_path("PANORAMIA_SOURCE_DIR", TEXT_AUDIT_SOURCE_DIR);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("panoramia-text-tiny-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_biographies(dir / "bios.txt", 1500, 11);
  // Passive OpenMP waiting: on a shared, oversubscribed machine spinning threads make LibTorch's
  // small operations many times slower.
  const auto result = run("OMP_WAIT_POLICY=PASSIVE '" + (build / "bin" / "panoramia").string() +
                          "' audit '" + (source / "configs" / "text-tiny.ini").string() +
                          "' --set data.path='" + (dir / "bios.txt").string() + "' --workdir '" +
                          (dir / "work").string() + "' --log-level warn");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("c_lb = "));
  EXPECT_THAT(result.output, HasSubstr("mia_epoch5_pred"));
  EXPECT_THAT(result.output, HasSubstr("mia_epoch20_pred"));
  // 1,200 blocks: the target trains on 960, a third of them (320) are attack-test members.
  EXPECT_THAT(result.output, HasSubstr("m = 320"));
  // The generator wrote its samples as text for inspection, one JSON object per line.
  int samples = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "work"))
    if (entry.path().filename() == "samples.jsonl") {
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line); ++samples)
        ASSERT_THAT(line, HasSubstr("\"text\":"));
    }
  EXPECT_EQ(samples, 3 * 320);  // helper, attack-train and attack-test non-members
  // The measurements are stored: `show` prints them again.
  const auto show = run("'" + (build / "bin" / "panoramia").string() + "' show 1 --db '" +
                        (dir / "work" / "results.db").string() + "'");
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_THAT(show.output, HasSubstr("c_lb = "));
  EXPECT_THAT(show.output, HasSubstr("mia_epoch20_pred"));
  std::filesystem::remove_all(dir);
}

}  // namespace
