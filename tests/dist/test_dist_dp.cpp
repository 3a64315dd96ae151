// DP-SGD split across two loopback ranks against one process: the same Poisson batches, each rank
// clipping its share, the clipped sums added before the (identically drawn) noise. And the gbm
// attack's search, whose folds are split across the ranks.
#include "harness.hpp"

namespace panoramia {
namespace {

// Tolerances derived per tensor by the probes (probe_dp_sgd.cpp): SGD's rounding bound for the
// clipped sums' summation order, ε exactly.
TEST(DataParallel, TwoRanksOfDpSgdOnTheMlpEndWithTheWeightsOfOneProcess) {
  testing::expect_two_ranks_match_one("mlp-dp", "3");
}

// GroupNorm, dropout masks drawn for each whole chunk, physical chunks of 5 examples (a rank's
// share of a chunk can be empty).
TEST(DataParallel, TwoRanksOfDpSgdOnATinyWideResNetEndWithTheWeightsOfOneProcess) {
  testing::expect_two_ranks_match_one("wrn-dp", "2");
}

// gbm: each point's cross-validation folds split across the ranks, the fold losses exchanged; the
// search takes the same decisions, so the scores are the one-process ones exactly (each fold is
// fitted by the same float64 code on the same rows, whichever rank runs it: tolerance 0).
TEST(DataParallel, TwoRanksSplitTheGbmSearchFoldsAndScoreAsOneProcess) {
  EXPECT_EQ(testing::expect_two_ranks_match_one("gbm", "1", 0.0), 0.0);
}

}  // namespace
}  // namespace panoramia
