// DP-SGD split across two loopback ranks against one process: the same Poisson batches, each rank
// clipping its share, the clipped sums added before the (identically drawn) noise.
#include "harness.hpp"

namespace panoramia {
namespace {

TEST(DataParallel, TwoRanksOfDpSgdOnTheMlpEndWithTheWeightsOfOneProcess) {
  testing::expect_two_ranks_match_one("mlp-dp", "3");
}

// GroupNorm, dropout masks drawn for each whole chunk, physical chunks of 5 examples (a rank's
// share of a chunk can be empty).
TEST(DataParallel, TwoRanksOfDpSgdOnATinyWideResNetEndWithTheWeightsOfOneProcess) {
  testing::expect_two_ranks_match_one("wrn-dp", "2");
}

}  // namespace
}  // namespace panoramia
