// StyleGAN2 trained data-parallel (plugins/stylegan2): two ranks against one process.
#include <limits>

#include "harness.hpp"

namespace panoramia::testing {

// 6 steps of G, D and R1 (ADA's p adjusted after step 4 from the sign statistics of both
// ranks, then applied), minibatch-stddev groups of 1. Compared: the parameters and buffers (w_avg
// included), the last summed gradients of G and D, p, and samples of the EMA generator drawn
// after training, each within the tolerances the probe derives (probe_stylegan2.cpp): Adam's
// rounding bound for the weights (its drift bound, ~6e-5 at lr 1e-6, for at most one element per
// 1e4), ρ ≈ 5e-3 of their magnitude for gradients, buffers and samples, p and labels exactly.
// Observed: ≤ 7.5e-9 on AVX-512, AVX2 and generic kernels. The one-process run is bit-identical to
// the code before data-parallel training (checked when this was written).
TEST(DataParallel, TwoRanksOfStyleGan2EndWithTheStateOfOneProcess) {
  expect_two_ranks_match_one("stylegan2", "6");
}

// Minibatch-stddev groups of 4: the reference reshapes the batch into strided groups, which a
// contiguous shard cannot reproduce, so each rank groups its own rows (as the reference does per
// GPU) and the run differs from one process by design. Checked: the ranks stay bit-identical to
// each other (the harness expects that exactly); no bound against one process (infinity).
TEST(DataParallel, TwoRanksOfStyleGan2WithMinibatchStddevGroupsStayInSync) {
  expect_two_ranks_match_one("stylegan2-mbstd", "6", std::numeric_limits<double>::infinity());
}

}  // namespace panoramia::testing
