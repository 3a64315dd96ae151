#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "csv_parser.hpp"
#include "schema_io.hpp"
#include "table.hpp"

namespace panoramia::csv {
namespace {

using ::testing::HasSubstr;

class CsvFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("panoramia-csv-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // The message of the exception `read_table` throws (empty when it does not throw).
  std::string error_of(const std::string& path, const TableOptions& options) {
    try {
      read_table(path, options);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_;
};

TEST(CsvParser, QuotesEscapesEmbeddedLineBreaksAndLineNumbers) {
  const std::string text = "a,b,c\r\n1,\"x, \"\"y\"\"\",3\r\n\r\n2,\"two\nlines\",4\n  5 ,  six ,7";
  const auto records = parse_csv(text, CsvFormat{}, "t.csv");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1].fields[1], "x, \"y\"");
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].fields[1], "two\nlines");
  EXPECT_EQ(records[2].line, 4);  // the blank line 3 is skipped
  EXPECT_EQ(records[3].line, 6);  // the quoted line break counts
  EXPECT_EQ(records[3].fields[0], "5");
  EXPECT_EQ(records[3].fields[1], "six");
}

TEST(CsvParser, UntrimmedKeepsSpaces) {
  CsvFormat format;
  format.trim = false;
  const auto records = parse_csv(" a ,b\n", format, "t.csv");
  EXPECT_EQ(records[0].fields[0], " a ");
}

TEST(CsvParser, UnclosedQuoteNamesFileAndLine) {
  try {
    parse_csv("a,b\n1,2\n3,\"oops\n4,5\n", CsvFormat{}, "bad.csv");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.csv line 3"));
    EXPECT_THAT(e.what(), HasSubstr("never closed"));
  }
}

TEST(CsvParser, TextAfterClosingQuoteIsAnError) {
  EXPECT_THROW(parse_csv("\"a\"b,c\n", CsvFormat{}, "t.csv"), std::runtime_error);
}

TEST(CsvParser, QuoteFieldRoundTrips) {
  const std::string field = "a, \"b\"\nc";
  const auto records = parse_csv(quote_field(field, ',') + ",x\n", CsvFormat{}, "t.csv");
  EXPECT_EQ(records[0].fields[0], field);
  EXPECT_EQ(quote_field("plain", ','), "plain");
}

TEST_F(CsvFiles, HeaderlessAdultStyleFileWithMissingValuesDropped) {
  const auto path = write("adult.data",
                          "39, State-gov, 77516, <=50K\r\n"
                          "50, ?, 83311, >50K\r\n"
                          "38, Private, 215646, <=50K\r\n"
                          "53, Private, 234721, >50K\r\n");
  TableOptions o;
  o.header = false;
  o.columns = {"age", "workclass", "fnlwgt", "income"};
  o.missing_token = "?";
  o.label = "income";
  TableReport report;
  const Batch b = read_table(path, o, &report);
  EXPECT_EQ(report.rows_read, 4);
  EXPECT_EQ(report.rows_dropped, 1);
  ASSERT_EQ(b.size(), 3);
  EXPECT_EQ(b.modality, "tabular");
  EXPECT_EQ(b.x.scalar_type(), torch::kFloat64);
  const auto& s = *b.schema;
  EXPECT_EQ(s.label, 3);
  EXPECT_EQ(s.columns[0].kind, ColumnKind::kContinuous);
  EXPECT_EQ(s.columns[1].kind, ColumnKind::kCategorical);
  EXPECT_EQ(s.columns[1].categories, (std::vector<std::string>{"Private", "State-gov"}));
  EXPECT_EQ(s.columns[3].categories, (std::vector<std::string>{"<=50K", ">50K"}));
  EXPECT_DOUBLE_EQ(b.x[2][2].item<double>(), 234721.0);
  EXPECT_EQ(b.x[0][1].item<double>(), 1.0);  // State-gov
  EXPECT_TRUE(torch::equal(b.y, torch::tensor({0, 0, 1}, torch::kInt64)));
}

TEST_F(CsvFiles, ImputeUsesMedianAndMostFrequentCategory) {
  const auto path = write("t.csv", "x,c,y\n1,a,0\n,b,1\n3,b,0\n10,?,1\n");
  TableOptions o;
  o.missing_token = "?";
  o.missing = MissingPolicy::kImpute;
  o.label = "y";
  TableReport report;
  const Batch b = read_table(path, o, &report);
  ASSERT_EQ(b.size(), 4);
  EXPECT_EQ(report.values_imputed, 2);
  EXPECT_DOUBLE_EQ(b.x[1][0].item<double>(), 3.0);  // median of 1, 3, 10
  EXPECT_EQ(b.x[3][1].item<double>(), 1.0);         // b, the most frequent
}

TEST_F(CsvFiles, DeclaredKindsAndNumericCategoryOrder) {
  const auto path = write("t.csv", "n,code,y\n1,10,2\n2,9,10\n3,10,2\n");
  TableOptions o;
  o.categorical = {"code"};
  o.label = "y";
  const Batch b = read_table(path, o);
  const auto& s = *b.schema;
  EXPECT_EQ(s.columns[0].kind, ColumnKind::kContinuous);
  EXPECT_EQ(s.columns[1].categories, (std::vector<std::string>{"9", "10"}));
  EXPECT_EQ(s.columns[2].categories, (std::vector<std::string>{"2", "10"}));
  EXPECT_TRUE(torch::equal(b.y, torch::tensor({0, 1, 0}, torch::kInt64)));
}

TEST_F(CsvFiles, InferredMixedColumnIsCategorical) {
  const auto path = write("t.csv", "v\n1\nabc\n2\n");
  const Batch b = read_table(path, TableOptions{});
  EXPECT_EQ(b.schema->columns[0].kind, ColumnKind::kCategorical);
  EXPECT_FALSE(b.y.defined());
}

TEST_F(CsvFiles, RaggedRowNamesFileAndLine) {
  const auto path = write("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n");
  const std::string msg = error_of(path, TableOptions{});
  EXPECT_THAT(msg, HasSubstr("ragged.csv line 3"));
  EXPECT_THAT(msg, HasSubstr("expected 3 fields, found 2"));
}

TEST_F(CsvFiles, NonNumericContinuousValueNamesFileAndLine) {
  const auto path = write("num.csv", "age,y\r\n30,a\r\n31,b\r\nforty,a\r\n");
  TableOptions o;
  o.continuous = {"age"};
  const std::string msg = error_of(path, o);
  EXPECT_THAT(msg, HasSubstr("num.csv line 4"));
  EXPECT_THAT(msg, HasSubstr("'age' is continuous but 'forty' is not a number"));
}

TEST_F(CsvFiles, UnknownCategoryUnderAStoredSchemaNamesFileAndLine) {
  const auto train = write("train.csv", "color,y\nred,0\nblue,1\n");
  TableOptions o;
  o.label = "y";
  const Batch b = read_table(train, o);
  const auto schema_path = write("schema.json", schema_to_json(*b.schema));
  const auto score = write("score.csv", "color,y\nblue,0\ngreen,1\n");
  TableOptions fixed;
  fixed.schema_source = schema_path;
  fixed.schema =
      std::make_shared<TabularSchema>(schema_from_json(read_file(schema_path), schema_path));
  const std::string msg = error_of(score, fixed);
  EXPECT_THAT(msg, HasSubstr("score.csv line 3"));
  EXPECT_THAT(msg, HasSubstr("'green'"));
  // Known categories keep the stored codes.
  const auto ok = write("ok.csv", "color,y\nred,1\n");
  EXPECT_EQ(read_table(ok, fixed).x[0][0].item<double>(), 1.0);  // blue=0, red=1
}

TEST_F(CsvFiles, ConfigurationErrorsNameTheColumn) {
  const auto path = write("t.csv", "a,b\n1,2\n");
  TableOptions o;
  o.label = "income";
  EXPECT_THAT(error_of(path, o), HasSubstr("'income'"));
  TableOptions dup;
  dup.header = false;
  dup.columns = {"a", "a"};
  EXPECT_THAT(error_of(path, dup), HasSubstr("appears twice"));
  EXPECT_THAT(error_of((dir_ / "absent.csv").string(), TableOptions{}), HasSubstr("absent.csv"));
}

TEST(SchemaJson, RoundTripAndErrors) {
  TabularSchema s;
  s.columns = {{"age", ColumnKind::kContinuous, {}}, {"y", ColumnKind::kCategorical, {"n", "y"}}};
  s.label = 1;
  const auto back = schema_from_json(schema_to_json(s), "s.json");
  ASSERT_EQ(back.columns.size(), 2u);
  EXPECT_EQ(back.label, 1);
  EXPECT_EQ(back.columns[1].categories, s.columns[1].categories);
  EXPECT_EQ(back.columns[0].kind, ColumnKind::kContinuous);
  try {
    schema_from_json("{\"columns\": 3", "broken.json");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("broken.json"));
  }
}

}  // namespace
}  // namespace panoramia::csv
