#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "idx_file.hpp"

namespace panoramia::idx {
namespace {

namespace fs = std::filesystem;
using panoramia::testing::message_of;
using ::testing::AllOf;
using ::testing::HasSubstr;

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("idx-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    // 5 images of 3x2 whose pixels encode their index, labels 0..4.
    for (int i = 0; i < 5; ++i)
      for (int p = 0; p < 6; ++p) pixels_.push_back(std::uint8_t(i * 50 + p));
    labels_ = {0, 1, 2, 3, 4};
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::vector<std::uint8_t> pixels_;
  std::vector<std::uint8_t> labels_;
};

TEST_F(IdxTest, ReadsPlainAndGzippedFiles) {
  for (const bool gzip : {false, true}) {
    const auto images = dir_ / (gzip ? "img.gz" : "img");
    const auto labels = dir_ / (gzip ? "lab.gz" : "lab");
    write_idx(images, {5, 3, 2}, pixels_, gzip);
    write_idx(labels, {5}, labels_, gzip);
    const auto data = read_images_and_labels(images, labels, 10, 0);
    ASSERT_EQ(data.images.sizes(), (std::vector<int64_t>{5, 1, 3, 2}));
    EXPECT_EQ(data.images.scalar_type(), torch::kFloat32);
    EXPECT_FLOAT_EQ(data.images[2][0][1][0].item<float>(), (2 * 50 + 2) / 255.0f);
    EXPECT_FLOAT_EQ(data.images[4][0][2][1].item<float>(), (4 * 50 + 5) / 255.0f);
    EXPECT_TRUE(torch::equal(data.labels, torch::tensor({0, 1, 2, 3, 4}, torch::kInt64)));
  }
}

TEST_F(IdxTest, LimitKeepsTheFirstItems) {
  write_idx(dir_ / "img", {5, 3, 2}, pixels_, false);
  write_idx(dir_ / "lab", {5}, labels_, false);
  const auto data = read_images_and_labels(dir_ / "img", dir_ / "lab", 10, 2);
  EXPECT_EQ(data.images.size(0), 2);
  EXPECT_FLOAT_EQ(data.images[1][0][0][0].item<float>(), 50 / 255.0f);
  EXPECT_EQ(data.labels.size(0), 2);
}

TEST_F(IdxTest, TruncatedDataNamesFileAndOffset) {
  write_idx(dir_ / "img", {5, 3, 2}, pixels_, false);
  fs::resize_file(dir_ / "img", 16 + 20);  // header 16 bytes, 30 data bytes declared
  write_idx(dir_ / "lab", {5}, labels_, false);
  const auto msg = message_of([&] { read_images_and_labels(dir_ / "img", dir_ / "lab", 10, 0); });
  EXPECT_THAT(msg,
              AllOf(HasSubstr((dir_ / "img").string()), HasSubstr("truncated"),
                    HasSubstr("from byte offset 16 to 46"), HasSubstr("ends at byte offset 36")));
}

TEST_F(IdxTest, TruncatedHeaderNamesOffset) {
  write_idx(dir_ / "img", {5, 3, 2}, pixels_, false);
  fs::resize_file(dir_ / "img", 10);
  const auto msg = message_of([&] { parse_idx(read_bytes(dir_ / "img"), 3, "img"); });
  EXPECT_THAT(msg, AllOf(HasSubstr("img is truncated"), HasSubstr("byte offset 10"),
                         HasSubstr("16-byte header")));
}

TEST_F(IdxTest, TruncatedGzipStreamIsAnError) {
  write_idx(dir_ / "img.gz", {5, 3, 2}, pixels_, true);
  fs::resize_file(dir_ / "img.gz", fs::file_size(dir_ / "img.gz") - 6);  // cut into the trailer
  const auto msg = message_of([&] { read_bytes(dir_ / "img.gz"); });
  EXPECT_THAT(msg, AllOf(HasSubstr((dir_ / "img.gz").string()), HasSubstr("truncated"),
                         HasSubstr("byte offset")));
}

TEST_F(IdxTest, WrongMagicNumber) {
  write_idx(dir_ / "lab", {5}, labels_, false);
  // A label file where an image file is expected.
  const auto msg = message_of([&] { parse_idx(read_bytes(dir_ / "lab"), 3, "lab"); });
  EXPECT_THAT(msg, AllOf(HasSubstr("lab has magic number 0x00000801 at byte offset 0"),
                         HasSubstr("expected 0x00000803")));
}

TEST_F(IdxTest, TrailingBytesAreAnError) {
  auto bytes = labels_;
  bytes.push_back(1);
  write_idx(dir_ / "lab", {5}, bytes, false);  // declares 5 labels, holds 6
  const auto msg = message_of([&] { parse_idx(read_bytes(dir_ / "lab"), 1, "lab"); });
  EXPECT_THAT(msg, HasSubstr("1 unexpected bytes after the data, from byte offset 13"));
}

TEST_F(IdxTest, LabelOutOfRangeNamesOffset) {
  write_idx(dir_ / "img", {5, 3, 2}, pixels_, false);
  write_idx(dir_ / "lab", {5}, {0, 1, 12, 3, 4}, false);
  const auto msg = message_of([&] { read_images_and_labels(dir_ / "img", dir_ / "lab", 10, 0); });
  EXPECT_THAT(msg, AllOf(HasSubstr("label 12 at byte offset 10"), HasSubstr("10 classes")));
}

TEST_F(IdxTest, CountMismatchNamesBothFiles) {
  write_idx(dir_ / "img", {5, 3, 2}, pixels_, false);
  write_idx(dir_ / "lab", {4}, {0, 1, 2, 3}, false);
  const auto msg = message_of([&] { read_images_and_labels(dir_ / "img", dir_ / "lab", 10, 0); });
  EXPECT_THAT(msg, AllOf(HasSubstr("has 4 labels"), HasSubstr("has 5 images")));
}

// Sizes from a header are checked before anything is allocated (issue 15, item 3): a tiny file
// claiming more data than any real one, or dimensions whose product overflows, is one sentence.
TEST_F(IdxTest, HeaderSizesAreCheckedBeforeAllocating) {
  const auto header_only = [&](const fs::path& file, std::vector<std::uint32_t> dims) {
    std::vector<std::uint8_t> bytes{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
    for (const auto d : dims)
      for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(std::uint8_t(d >> shift));
    bytes.resize(40, 7);  // a 40-byte file
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  };
  // 2^30 x 2^30 x 2^30 would overflow 64 bits when multiplied.
  header_only(dir_ / "overflow", {1u << 30, 1u << 30, 1u << 30});
  EXPECT_THAT(message_of([&] { read_idx(dir_ / "overflow", 3); }),
              HasSubstr("declares dimensions whose product exceeds 68719476736 bytes"));
  // 2^30 images of 28 x 28: 784 GiB declared in 40 bytes.
  header_only(dir_ / "huge", {1u << 30, 28, 28});
  EXPECT_THAT(message_of([&] { read_idx(dir_ / "huge", 3); }), HasSubstr("product exceeds"));
  // A million images of 28 x 28 (784 MB) declared in 40 bytes: truncated, read as it is.
  header_only(dir_ / "short", {1000000, 28, 28});
  EXPECT_THAT(message_of([&] { read_idx(dir_ / "short", 3); }),
              AllOf(HasSubstr("is truncated"), HasSubstr("ends at byte offset 40")));
}

// A small gzip file that inflates to far more than its header declares is refused after
// inflating only the declared bytes plus one.
TEST_F(IdxTest, AGzipBombIsNotInflatedPastItsHeader) {
  std::vector<std::uint8_t> content = pixels_;
  content.resize(content.size() + (std::size_t{64} << 20), 0);  // 64 MiB of zeros after the data
  write_idx(dir_ / "bomb.gz", {5, 3, 2}, content, true);
  EXPECT_LT(fs::file_size(dir_ / "bomb.gz"), 200000u);
  EXPECT_EQ(read_bytes(dir_ / "bomb.gz", 46).size(), 47u);  // stops after max_bytes + 1
  EXPECT_THAT(message_of([&] { read_idx(dir_ / "bomb.gz", 3); }),
              HasSubstr("has more content after the data, from byte offset 46 (its header "
                        "declares 30 data bytes)"));
}

TEST_F(IdxTest, MissingFile) {
  const auto msg = message_of([&] { read_bytes(dir_ / "nope"); });
  EXPECT_THAT(msg, HasSubstr("nope does not exist"));
}

TEST(IdxFashionMnist, ReadsTheInstalledDataSet) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  // scripts/install-deps installs dataset-fashion-mnist: a missing file is a failure.
  ASSERT_TRUE(fs::exists(dir / "t10k-images-idx3-ubyte.gz"))
      << "dataset-fashion-mnist is not installed";
  const auto data = read_images_and_labels(dir / "t10k-images-idx3-ubyte.gz",
                                           dir / "t10k-labels-idx1-ubyte.gz", 10, 0);
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  // The test split is balanced: 1000 images per class.
  EXPECT_TRUE(torch::equal(torch::bincount(data.labels), torch::full({10}, 1000, torch::kInt64)));
}

}  // namespace
}  // namespace panoramia::idx
