#pragma once
/// \file
/// The spread of a measurement over repetitions of an audit (training seeds × game seeds).
///
/// The interval is Student's t interval for the mean over the n repetitions,
/// mean ± t_{(1+confidence)/2, n−1} · sd / √n, with the sample standard deviation (n − 1 in the
/// denominator). Repetitions are independent re-runs of the whole randomised audit, so their values
/// are i.i.d. draws of the measurement; with the 3–25 repetitions an audit can afford, t is exact
/// for normal values and robust otherwise, whereas a percentile bootstrap over so few values
/// under-covers (its interval cannot be wider than the observed range).
///
/// Pure, thread-safe functions.

#include <cstddef>
#include <vector>

namespace panoramia::stats {

/// Mean, spread and interval of one measurement.
struct Spread {
  std::size_t n = 0;
  double mean = 0;
  double sd = 0;      ///< sample standard deviation; 0 when n == 1
  double ci_low = 0;  ///< the t interval; equal to the mean when n == 1 (no spread known)
  double ci_high = 0;
  double confidence = 0.95;
};

/// Throws `std::invalid_argument` for no values, a non-finite value or a confidence outside (0, 1).
Spread spread(const std::vector<double>& values, double confidence = 0.95);

/// True when the two intervals are disjoint (two runs differ beyond their intervals).
bool intervals_disjoint(const Spread& a, const Spread& b);

}  // namespace panoramia::stats
