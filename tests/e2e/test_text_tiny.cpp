// The CPU-sized text audit end to end: configs/text-tiny.ini run by the built binary on a text file
// this test writes (short biographies with random names, places and numbers, in paragraphs, some
// of them with accents), so that the suite needs no corpus download.
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

TEST(TextTinyAudit, RunsEndToEndAndReportsEveryCheckpoint) {
  const TempDir dir;
  write_biographies(dir / "bios.txt", 1500, 11);
  const auto result =
      run_panoramia("audit '" + (source_dir() / "configs" / "text-tiny.ini").string() +
                    "' --set data.path='" + (dir / "bios.txt").string() + "' --workdir '" +
                    (dir / "work").string() + "' --log-level warn --attacks min-k-prob,zlib-ratio");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("c_lb = "));
  // The LLM attacks that need no reference model, on the GPT-2 target's real per-token losses and
  // the text blocks' token ids, beside the config's loss-vector attack.
  for (const std::string attack : {"loss-vector", "min-k-prob", "zlib-ratio"})
    for (const std::string side : {"baseline_pred", "mia_epoch5_pred", "mia_epoch20_pred"})
      EXPECT_THAT(result.output, ::testing::ContainsRegex("  " + attack + " +" + side + " +[0-9]"))
          << attack << " " << side;
  EXPECT_THAT(result.output, HasSubstr("mia_epoch5_pred"));
  EXPECT_THAT(result.output, HasSubstr("mia_epoch20_pred"));
  // 1,200 blocks: the target trains on 960, a third of them (320) are attack-test members.
  EXPECT_THAT(result.output, HasSubstr("m = 320"));
  // The text reader's previews: real and generated blocks decoded to text on the report's page.
  std::string error;
  const std::string page = report_page(dir / "work" / "results.db", 1, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_THAT(page, HasSubstr("<p>Real:</p><ol class=\"texts\"><li>"));
  EXPECT_THAT(page, HasSubstr("<p>Generated:</p><ol class=\"texts\"><li>"));
  // The generator wrote its samples as text for inspection, one JSON object per line.
  int samples = 0;
  for (const auto& file : find_files(dir / "work", "samples.jsonl")) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line); ++samples)
      ASSERT_THAT(line, HasSubstr("\"text\":"));
  }
  EXPECT_EQ(samples, 3 * 320);  // helper, attack-train and attack-test non-members
  // The measurements are stored: `show` prints them again.
  const auto show = run_panoramia("show 1 --db '" + (dir / "work" / "results.db").string() + "'");
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_THAT(show.output, HasSubstr("c_lb = "));
  EXPECT_THAT(show.output, HasSubstr("mia_epoch20_pred"));
}

}  // namespace
}  // namespace panoramia::testing
