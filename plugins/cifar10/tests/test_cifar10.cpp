#include <fstream>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <panoramia/testing.hpp>

#include "cifar_file.hpp"

namespace panoramia::cifar {
namespace {

namespace fs = std::filesystem;
using panoramia::testing::message_of;
using ::testing::AllOf;
using ::testing::HasSubstr;

class CifarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cifar-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// n records whose pixels encode (record, channel) and whose labels are first_label + i mod 10.
  fs::path make_file(const std::string& name, std::int64_t n, std::int64_t first_label) {
    auto images = torch::zeros({n, 3, 32, 32}, torch::kUInt8);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t c = 0; c < 3; ++c) images[i][c].fill_(10 * i + c + first_label);
    const auto labels = (torch::arange(n) + first_label) % 10;
    write_cifar10(dir_ / name, labels, images);
    return dir_ / name;
  }

  fs::path dir_;
};

TEST_F(CifarTest, ReadsRecordsInFileOrderWithPlanesAsChannels) {
  const auto a = make_file("a.bin", 3, 0), b = make_file("b.bin", 2, 5);
  const auto data = read_cifar10({a, b}, 0);
  ASSERT_EQ(data.images.sizes(), (std::vector<int64_t>{5, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(data.labels, torch::tensor({0, 1, 2, 5, 6}, torch::kInt64)));
  EXPECT_FLOAT_EQ(data.images[1][2][31][0].item<float>(), 12 / 255.0f);  // record 1, blue plane
  EXPECT_FLOAT_EQ(data.images[4][0][0][7].item<float>(), 15 / 255.0f);   // b's record 1, red
}

TEST_F(CifarTest, LimitStopsEarly) {
  const auto a = make_file("a.bin", 3, 0), b = make_file("b.bin", 2, 5);
  const auto data = read_cifar10({a, b, dir_ / "never-opened.bin"}, 4);
  EXPECT_EQ(data.images.size(0), 4);
  EXPECT_EQ(data.labels[3].item<int64_t>(), 5);
}

TEST_F(CifarTest, TruncatedFileNamesTheCutRecord) {
  const auto a = make_file("a.bin", 3, 0);
  fs::resize_file(a, 2 * kRecord + 100);
  const auto msg = message_of([&] { read_cifar10({a}, 0); });
  EXPECT_THAT(msg, AllOf(HasSubstr(a.string()), HasSubstr("is truncated"),
                         HasSubstr("the record at byte offset 6146 is cut short")));
}

TEST_F(CifarTest, BadLabelNamesItsOffset) {
  auto images = torch::zeros({3, 3, 32, 32}, torch::kUInt8);
  write_cifar10(dir_ / "bad.bin", torch::tensor({1, 4, 11}), images);
  const auto msg = message_of([&] { read_cifar10({dir_ / "bad.bin"}, 0); });
  EXPECT_THAT(msg, AllOf(HasSubstr("has label 11 at byte offset 6146"), HasSubstr("outside 0-9")));
}

TEST_F(CifarTest, MissingAndEmptyFiles) {
  EXPECT_THAT(message_of([&] { read_cifar10({dir_ / "data_batch_1.bin"}, 0); }),
              HasSubstr("data_batch_1.bin does not exist"));
  std::ofstream(dir_ / "empty.bin").close();
  EXPECT_THAT(message_of([&] { read_cifar10({dir_ / "empty.bin"}, 0); }), HasSubstr("is empty"));
}

TEST(CifarSplits, StandardFileNames) {
  EXPECT_EQ(cifar10_split_files("train").size(), 5u);
  EXPECT_EQ(cifar10_split_files("train")[4], "data_batch_5.bin");
  EXPECT_EQ(cifar10_split_files("test"), (std::vector<std::string>{"test_batch.bin"}));
  EXPECT_EQ(cifar10_split_files("all").back(), "test_batch.bin");
  EXPECT_THROW(cifar10_split_files("valid"), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::cifar
