// The tokenizer against the reference JavaScript GPT-2 encoder (gpt-3-encoder 1.1.4) on an 11,000
// character multilingual fixture (tests/data/make_tokenizer_fixture.js), both vocabulary layouts,
// exact round trips on arbitrary bytes, the truncated vocabularies and the file errors.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <panoramia/testing.hpp>

#include "small_config.hpp"
#include "tokenizer.hpp"

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;
using panoramia::testing::message_of;
using ::testing::HasSubstr;

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::int64_t> expected_ids() {
  std::ifstream in(kData / "corpus.ids");
  std::vector<std::int64_t> ids;
  for (std::int64_t id; in >> id;) ids.push_back(id);
  return ids;
}

const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::load(kData);
  return t;
}

struct TempDir {
  TempDir() {
    path = fs::temp_directory_path() /
           ("gpt2-tok-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

TEST(Tokenizer, MatchesTheReferenceEncoderOnTheFixtureCorpus) {
  const std::string corpus = slurp(kData / "corpus.txt");
  ASSERT_GT(corpus.size(), 10000u);
  const auto expected = expected_ids();
  ASSERT_GT(expected.size(), 5000u);
  const auto ids = gpt2().encode(corpus);
  ASSERT_EQ(gpt2().vocab_size(), 50257);
  std::size_t first_difference = 0;
  while (first_difference < std::min(ids.size(), expected.size()) &&
         ids[first_difference] == expected[first_difference])
    ++first_difference;
  if (first_difference < std::max(ids.size(), expected.size())) {
    const std::size_t from = first_difference >= 5 ? first_difference - 5 : 0;
    const std::vector<std::int64_t> context(
        expected.begin() + from, expected.begin() + std::min(expected.size(), from + 10));
    FAIL() << "ids differ at token " << first_difference << " (" << ids.size() << " vs "
           << expected.size() << " ids), near '" << gpt2().decode(context) << "'";
  }
  EXPECT_EQ(gpt2().decode(ids), corpus);
}

TEST(Tokenizer, KnownIdsAndSpecialToken) {
  EXPECT_EQ(gpt2().encode("Hello world"), (std::vector<std::int64_t>{15496, 995}));
  EXPECT_EQ(gpt2().encode(" the"), (std::vector<std::int64_t>{262}));
  EXPECT_EQ(gpt2().end_of_text(), 50256);
  EXPECT_EQ(gpt2().decode(std::vector<std::int64_t>{50256}), "<|endoftext|>");
  EXPECT_TRUE(gpt2().encode("").empty());
}

TEST(Tokenizer, HuggingFaceLayoutGivesTheSameIds) {
  TempDir dir;
  fs::copy_file(kData / "encoder.json", dir.path / "vocab.json");
  fs::copy_file(kData / "vocab.bpe", dir.path / "merges.txt");
  const auto hf = Tokenizer::load(dir.path);
  const std::string text = slurp(kData / "corpus.txt").substr(0, 3000);
  EXPECT_EQ(hf.encode(text), gpt2().encode(text));
}

TEST(Tokenizer, RoundTripsArbitraryBytes) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(rng() % 200, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() % 256);
    const auto ids = gpt2().encode(bytes);
    ASSERT_EQ(gpt2().decode(ids), bytes) << "trial " << trial;
  }
  // Truncated and overlong sequences, surrogates, stray continuation bytes.
  for (const std::string s :
       {"\xC3", "caf\xC3", "\xE2\x82", "\xC0\x80", "\xED\xA0\x80", "\x80 x\xBF",
        "a\xF4\x90\x80\x80"
        "b",
        "\xF0\x9F\x98\x80\xF0"}) {
    EXPECT_EQ(gpt2().decode(gpt2().encode(s)), s);
  }
}

TEST(Tokenizer, TruncatedVocabularyKeepsIdsAndRoundTrips) {
  const auto small = Tokenizer::load(kData, 1024);
  EXPECT_EQ(small.vocab_size(), 1024);
  EXPECT_EQ(small.end_of_text(), -1);
  const std::string corpus = slurp(kData / "corpus.txt");
  const auto ids = small.encode(corpus);
  EXPECT_GT(ids.size(), gpt2().encode(corpus).size());  // fewer merges: more tokens
  for (const auto id : ids) ASSERT_LT(id, 1024);
  EXPECT_EQ(small.decode(ids), corpus);
  // " the" is merge 6 of GPT-2 ("Ġt" + "he"), so its id is kept.
  EXPECT_EQ(small.encode(" the"), (std::vector<std::int64_t>{262}));
}

TEST(Tokenizer, ErrorsNameTheFile) {
  TempDir dir;
  EXPECT_THAT(message_of([&] { Tokenizer::load(dir.path); }),
              HasSubstr("no GPT-2 tokenizer in " + dir.path.string()));
  std::ofstream(dir.path / "vocab.json") << "{\"a\": 0, ";
  std::ofstream(dir.path / "merges.txt") << "#version: 0.2\n";
  EXPECT_THAT(message_of([&] { Tokenizer::load(dir.path); }),
              HasSubstr((dir.path / "vocab.json").string() + " is not valid JSON"));
  fs::copy_file(kData / "encoder.json", dir.path / "vocab.json",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir.path / "merges.txt") << "#version: 0.2\n\xC4\xA0 t\nbad line here\n";
  EXPECT_THAT(message_of([&] { Tokenizer::load(dir.path); }),
              HasSubstr((dir.path / "merges.txt").string() + ":3: a merge must be two tokens"));
  EXPECT_THAT(message_of([&] {
                gpt2().decode(std::vector<std::int64_t>{1, 60000});
              }),
              HasSubstr("token id 60000 at position 1 is not in the vocabulary"));
  // An id far beyond the entries (issue 15, finding 5: 2^31 - 2 sized the table by the id).
  std::ofstream(dir.path / "vocab.json") << "{\"a\": 0, \"b\": 2147483646}";
  std::ofstream(dir.path / "merges.txt") << "#version: 0.2\n";
  EXPECT_THAT(message_of([&] { Tokenizer::load(dir.path); }),
              HasSubstr((dir.path / "vocab.json").string() +
                        " maps 'b' to id 2147483646, but it has only 2 entries"));
  // Two tokens on one id (found by fuzz_bpe: one of them decoded as the other).
  std::ofstream(dir.path / "vocab.json") << "{\"a\": 0, \"b\": 1, \"c\": 1}";
  EXPECT_THAT(message_of([&] { Tokenizer::load(dir.path); }),
              HasSubstr((dir.path / "vocab.json").string() + " maps both 'b' and 'c' to id 1"));
}

}  // namespace
}  // namespace panoramia::gpt2
