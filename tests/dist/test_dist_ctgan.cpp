// Data-parallel CTGAN (tabular-gan): generator with synchronised BatchNorm and PacGAN
// discriminator, each through a DataParallel, shards of whole pac groups. Two ranks end
// bit-identical to each other (networks, rows sampled after training and a random draw after them)
// and equal to a one-process run within tolerances derived per tensor from the probe's settings
// (probe_ctgan.cpp): the drift Adam allows for the biases before BatchNorm, whose gradients are
// rounding noise (the single 1e-5 once used held on AVX-512 kernels, 5e-6, but not on AVX2 ones,
// 3.3e-5), and Adam's rounding bound, ~1e-6, for everything else.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace panoramia {
namespace {

// 7 groups of 5 rows: uneven shards (4 + 3 groups), 12 steps.
TEST(DataParallel, TwoRanksOfCtganEndWithTheNetworksAndSamplesOfOneProcess) {
  testing::expect_two_ranks_match_one("ctgan", "4");
}

// One group: rank 1 trains on an empty shard.
TEST(DataParallel, CtganWithAnEmptyShardEndsWithTheNetworksOfOneProcess) {
  testing::expect_two_ranks_match_one("ctgan_one_group", "2");
}

}  // namespace
}  // namespace panoramia
