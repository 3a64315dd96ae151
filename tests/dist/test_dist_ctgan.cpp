// Data-parallel CTGAN (tabular-gan): generator with synchronised BatchNorm and PacGAN
// discriminator, each through a DataParallel, shards of whole pac groups. Two ranks end
// bit-identical to each other (networks and rows sampled after training) and equal to a one-process
// run within 1e-5 (probe_ctgan.cpp explains the learning rate: Adam's sign steps on the biases
// before BatchNorm, whose gradients are rounding noise, would otherwise differ by whole steps).
#include <gtest/gtest.h>

#include "harness.hpp"

namespace panoramia {
namespace {

// 7 groups of 5 rows: uneven shards (4 + 3 groups), 12 steps.
TEST(DataParallel, TwoRanksOfCtganEndWithTheNetworksAndSamplesOfOneProcess) {
  testing::expect_two_ranks_match_one("ctgan", "4", 1e-5);
}

// One group: rank 1 trains on an empty shard.
TEST(DataParallel, CtganWithAnEmptyShardEndsWithTheNetworksOfOneProcess) {
  testing::expect_two_ranks_match_one("ctgan_one_group", "2", 1e-5);
}

}  // namespace
}  // namespace panoramia
