// The score CSV reader: the reference format, and one-sentence errors naming the file and the line.
#include "stats/score_csv.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_file.hpp"

namespace panoramia::stats {
namespace {

using testing::TempFile;

// The error text of reading `contents` from a temp file, which must name the file and `line`.
std::string error_of(const std::string& contents, int line) {
  const TempFile file(contents);
  try {
    read_score_csv(file.path());
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file.path()), std::string::npos) << message;
    if (line > 0) {
      EXPECT_NE(message.find("line " + std::to_string(line) + ":"), std::string::npos) << message;
    }
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "no error for:\n" << contents;
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ScoreCsv, ReadsTheReferenceFormat) {
  // A pandas index column, a non-score column, CRLF line ends, a blank line and no final newline.
  const TempFile file(
      ",member,baseline_pred,mia_gpt2_pred,note\r\n"
      "0,1,0.75,0.9,a\r\n"
      "1,0,0.25,1e-3,b\r\n"
      "\r\n"
      "2,1,1,0,c");
  const ScoreTable table = read_score_csv(file.path());
  EXPECT_EQ(table.source, file.path());
  ASSERT_EQ(table.rows(), 3u);
  EXPECT_EQ(table.member, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(table.names, (std::vector<std::string>{"baseline_pred", "mia_gpt2_pred"}));
  EXPECT_EQ(table.column("baseline_pred"), (std::vector<double>{0.75, 0.25, 1.0}));
  EXPECT_EQ(table.column("mia_gpt2_pred"), (std::vector<double>{0.9, 0.001, 0.0}));
  EXPECT_THROW(table.column("mia_other_pred"), std::out_of_range);
}

TEST(ScoreCsv, AcceptsBooleanMembersAndQuotedHeaders) {
  const TempFile file("\xEF\xBB\xBF\"member\",\"baseline_pred\"\nTrue,0.5\nFalse,0.125\n");
  const ScoreTable table = read_score_csv(file.path());
  EXPECT_EQ(table.member, (std::vector<int>{1, 0}));
  EXPECT_EQ(table.column("baseline_pred"), (std::vector<double>{0.5, 0.125}));
}

TEST(ScoreCsv, MissingFile) {
  const std::string path = "/nonexistent-dir/scores.csv";
  try {
    read_score_csv(path);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& error) {
    EXPECT_TRUE(contains(error.what(), path)) << error.what();
    EXPECT_TRUE(contains(error.what(), "cannot be opened")) << error.what();
  }
}

TEST(ScoreCsv, EmptyFile) {
  EXPECT_TRUE(contains(error_of("", 1), "empty"));
  EXPECT_TRUE(contains(error_of("\n\n", 1), "empty"));
}

TEST(ScoreCsv, HeaderWithoutRows) {
  EXPECT_TRUE(contains(error_of("member,baseline_pred\n", 2), "no data rows"));
}

TEST(ScoreCsv, MissingColumns) {
  EXPECT_TRUE(contains(error_of("label,baseline_pred\n1,0.5\n", 1), "no 'member' column"));
  EXPECT_TRUE(contains(error_of("member,mia_x_pred\n1,0.5\n", 1), "no 'baseline_pred' column"));
  EXPECT_TRUE(contains(error_of("member,baseline_pred,baseline_pred\n1,0.5,0.5\n", 1), "twice"));
}

TEST(ScoreCsv, NonNumericValue) {
  const std::string message = error_of("member,baseline_pred\n1,0.5\n0,abc\n", 3);
  EXPECT_TRUE(contains(message, "'baseline_pred'")) << message;
  EXPECT_TRUE(contains(message, "'abc', which is not a number")) << message;
  EXPECT_TRUE(contains(error_of("member,baseline_pred\n1,0.5x\n", 2), "not a number"));
  EXPECT_TRUE(contains(error_of("member,baseline_pred\n1,\n", 2), "not a number"));
}

TEST(ScoreCsv, ScoreOutsideUnitInterval) {
  EXPECT_TRUE(contains(error_of("member,baseline_pred\n1,0.5\n1,1.5\n", 3), "outside [0, 1]"));
  EXPECT_TRUE(contains(error_of("member,baseline_pred\n1,-0.1\n", 2), "outside [0, 1]"));
  EXPECT_TRUE(contains(error_of("member,baseline_pred\n1,nan\n", 2), "outside [0, 1]"));
}

TEST(ScoreCsv, MemberNotZeroOrOne) {
  const std::string message = error_of("member,baseline_pred\n1,0.5\n0,0.5\n2,0.5\n", 4);
  EXPECT_TRUE(contains(message, "member flag is '2', expected 0 or 1")) << message;
  EXPECT_TRUE(contains(error_of("member,baseline_pred\r\nyes,0.5\r\n", 2), "expected 0 or 1"));
}

TEST(ScoreCsv, RaggedRows) {
  const std::string fewer = error_of("member,baseline_pred,mia_a_pred\n1,0.5,0.5\n1,0.5\n", 3);
  EXPECT_TRUE(contains(fewer, "expected 3 fields as in the header, found 2")) << fewer;
  const std::string more = error_of("member,baseline_pred\n1,0.5\n\n1,0.5,0.7\n", 4);
  EXPECT_TRUE(contains(more, "found 3")) << more;
}

// A body cut into chunks parsed on their own threads gives the same table as one chunk, whatever
// the number of chunks (blank lines, CRLF and a last line without a newline included), and the
// first error in the file with its true line number.
TEST(ScoreCsv, ChunkedParsingGivesTheSameTableAndLineNumbers) {
  std::string text = "member,baseline_pred,other,mia_a_pred\r\n";
  std::vector<int> member;
  std::vector<double> baseline, mia;
  for (int i = 0; i < 997; ++i) {
    member.push_back(i % 3 == 0 ? 1 : 0);
    baseline.push_back((i % 101) / 100.0);
    mia.push_back((i % 7) / 8.0);
    text += std::to_string(member.back()) + "," + std::to_string(baseline.back()) + ",x," +
            std::to_string(mia.back()) + (i % 50 == 0 ? "\r\n\n" : "\n");
    baseline.back() = std::stod(std::to_string(baseline.back()));  // the digits written
    mia.back() = std::stod(std::to_string(mia.back()));
  }
  text.pop_back();  // the last line ends without a newline
  for (const std::size_t chunks : {1, 2, 3, 7, 64}) {
    const ScoreTable table = parse_score_csv(text, "mem", chunks);
    EXPECT_EQ(table.member, member) << chunks;
    EXPECT_EQ(table.column("baseline_pred"), baseline) << chunks;
    EXPECT_EQ(table.column("mia_a_pred"), mia) << chunks;
  }
  // Row i (0-based) is on line 2 + i + (blank lines before it: one after every 50th row).
  std::string bad = text;
  bad.replace(bad.rfind("\n", bad.size() * 3 / 4), 1, "\n1,0.5,x,1.5\n");
  const std::size_t line = 1 + static_cast<std::size_t>(std::count(
                                   bad.begin(), bad.begin() + bad.find("1,0.5,x,1.5"), '\n'));
  for (const std::size_t chunks : {1, 2, 5}) {
    try {
      parse_score_csv(bad, "mem", chunks);
      ADD_FAILURE() << "no error with " << chunks << " chunks";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "score file 'mem' line " + std::to_string(line) +
                                           ": column 'mia_a_pred' holds 1.5, outside [0, 1]")
          << chunks;
    }
  }
}

// A directory or a FIFO is refused in one sentence, at once (a FIFO does not wait for a writer).
TEST(ScoreCsv, NotARegularFile) {
  const std::string dir = ::testing::TempDir();
  try {
    read_score_csv(dir);
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "score file '" + dir + "' is not a regular file");
  }
  const std::string fifo = dir + "/panoramia-score-fifo-" + std::to_string(::getpid());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(read_score_csv(fifo), std::runtime_error);
  ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace panoramia::stats
