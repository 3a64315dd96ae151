// What the host accepts from a reader's preview and closeness before it stores them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <panoramia/testing.hpp>

#include "preview_checks.hpp"

namespace panoramia {
namespace {

using ::testing::HasSubstr;
using testing::message_of;

TEST(PreviewChecks, OnePartWithinTheLimits) {
  Preview both;
  both.png = "\x89PNG\r\n\x1a\n";
  both.texts = {"a"};
  EXPECT_THAT(message_of([&] { check_preview(both, "reader 'r'"); }),
              HasSubstr("reader 'r' returned a preview with more than one of"));
  Preview not_png;
  not_png.png = "GIF89a";
  EXPECT_THAT(message_of([&] { check_preview(not_png, "reader 'r'"); }),
              HasSubstr("image that is not a PNG file"));
  Preview ragged;
  ragged.columns = {"a", "b"};
  ragged.rows = {{"1", "2"}, {"3"}};
  EXPECT_THAT(message_of([&] { check_preview(ragged, "reader 'r'"); }),
              HasSubstr("row 2 has 1 cells for 2 columns"));
  Preview many;
  many.texts.assign(kPreviewSamples + 1, "t");
  EXPECT_THAT(message_of([&] { check_preview(many, "reader 'r'"); }),
              HasSubstr("of more than 8 samples"));
  Preview wide;
  wide.columns.assign(kPreviewColumns + 1, "c");
  EXPECT_THAT(message_of([&] { check_preview(wide, "reader 'r'"); }), HasSubstr("65 columns"));
  Preview fine;
  fine.columns = {"a"};
  fine.rows = {{std::string(1000, 'x')}};
  check_preview(fine, "reader 'r'");
  EXPECT_EQ(fine.rows[0][0], std::string(kPreviewStringBytes, 'x'));
  Preview none;
  check_preview(none, "reader 'r'");
  EXPECT_TRUE(none.empty());
}

TEST(PreviewChecks, LongStringsAreCutBetweenUtf8Characters) {
  // "é" is two bytes (C3 A9): a cut at 4 bytes of "aaaé" keeps "aaa", not half a character.
  EXPECT_EQ(cut_utf8("aaa\xc3\xa9", 4), "aaa");
  EXPECT_EQ(cut_utf8("aaa\xc3\xa9", 5), "aaa\xc3\xa9");
  EXPECT_EQ(cut_utf8("aaaa\xc3\xa9", 5), "aaaa");
  // A 4-byte character (U+1F600, F0 9F 98 80) cut anywhere inside is dropped whole.
  for (std::size_t n = 1; n <= 3; ++n) EXPECT_EQ(cut_utf8("\xf0\x9f\x98\x80", n), "");
  EXPECT_EQ(cut_utf8("short", 600), "short");
}

TEST(PreviewChecks, AClosenessFigureNamesItsFeatureAndMeasure) {
  EXPECT_THAT(message_of([] {
                check_closeness({"", "ks", 0.1}, "reader 'r'");
              }),
              HasSubstr("reader 'r' returned a closeness figure without a feature or measure"));
  EXPECT_NO_THROW(check_closeness({"age", "ks", 0.1}, "reader 'r'"));
}

}  // namespace
}  // namespace panoramia
