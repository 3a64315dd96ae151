// Data-parallel training of the text attacks on two loopback ranks against one process.
#include "harness.hpp"

namespace panoramia {
namespace {

// Both phases (side branch with Adam, everything with AdamW and its schedule), the validation
// scoring and the final scores computed in shares across the ranks; the GPT-2 backbone's dropout
// (0.1) draws its masks for the global batch (gpt2::DropoutShard), so they are the one-process
// masks. Adam's first steps are about
// lr * sign(gradient): a gradient element that is zero up to rounding can move by up to lr in one
// summation order and not in the other, at lr = 1e-3 and 20 steps the runs still agree to 2e-6.
TEST(DataParallel, TwoRanksOfTheTextDistinguisherEndWithTheWeightsOfOneProcess) {
  testing::expect_two_ranks_match_one("text-distinguisher", "2");
}

}  // namespace
}  // namespace panoramia
