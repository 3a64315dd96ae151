#include "stats/spread.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include <boost/math/distributions/students_t.hpp>

#include "stats/policy.hpp"

namespace panoramia::stats {

Spread spread(const std::vector<double>& values, double confidence) {
  if (values.empty()) throw std::invalid_argument("a spread needs at least one value");
  if (!(confidence > 0 && confidence < 1))
    throw std::invalid_argument(
        "the interval's confidence must lie strictly between 0 and 1, got " +
        std::to_string(confidence));
  Spread out;
  out.n = values.size();
  out.confidence = confidence;
  double sum = 0;
  for (const double v : values) {
    if (!std::isfinite(v)) throw std::invalid_argument("a repetition's value is not finite");
    sum += v;
  }
  out.mean = sum / static_cast<double>(out.n);
  out.ci_low = out.ci_high = out.mean;
  if (out.n < 2) return out;
  // Two passes: the centred sum of squares keeps its digits when the values are close together.
  double squares = 0;
  for (const double v : values) squares += (v - out.mean) * (v - out.mean);
  out.sd = std::sqrt(squares / static_cast<double>(out.n - 1));
  const boost::math::students_t_distribution<double, StatsPolicy> t(static_cast<double>(out.n - 1));
  const double half = boost::math::quantile(t, 0.5 + confidence / 2) * out.sd /
                      std::sqrt(static_cast<double>(out.n));
  out.ci_low = out.mean - half;
  out.ci_high = out.mean + half;
  return out;
}

bool intervals_disjoint(const Spread& a, const Spread& b) {
  return a.ci_high < b.ci_low || b.ci_high < a.ci_low;
}

}  // namespace panoramia::stats
