#include "stats/binomial.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <boost/math/distributions/binomial.hpp>

#include "stats/policy.hpp"

namespace panoramia::stats {
namespace {

using Binomial = boost::math::binomial_distribution<double, StatsPolicy>;

void check_counts(std::int64_t m, std::int64_t r, std::int64_t v) {
  if (v < 0 || v > r || r > m) {
    throw std::invalid_argument("counts must satisfy 0 <= v <= r <= m, got m=" + std::to_string(m) +
                                ", r=" + std::to_string(r) + ", v=" + std::to_string(v));
  }
}

void check_probability(const char* name, double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    throw std::invalid_argument(std::string(name) + " must lie in [0, 1], got " +
                                std::to_string(value));
  }
}

// α of Steinke et al.: the largest average pmf over the i values just below v. The running-max
// update (only when S_i > i·α) is the reference's, kept so that ties resolve the same way.
double steinke_alpha(std::int64_t r, std::int64_t v, double q) {
  const Binomial dist(static_cast<double>(r), q);
  double alpha = 0.0;
  double sum = 0.0;
  for (std::int64_t i = 1; i <= v; ++i) {
    sum += boost::math::pdf(dist, static_cast<double>(v - i));
    if (sum > static_cast<double>(i) * alpha) alpha = sum / static_cast<double>(i);
  }
  return alpha;
}

// β + α·2m·slack, the shared tail of the Steinke and relaxed p-values.
double pvalue_with_slack(std::int64_t m, std::int64_t r, std::int64_t v, double eps, double slack) {
  const double beta = pvalue(r, v, eps);
  if (slack == 0.0) return beta;
  const double alpha = steinke_alpha(r, v, sigmoid(eps));
  return std::min(beta + alpha * 2.0 * static_cast<double>(m) * slack, 1.0);
}

}  // namespace

double sigmoid(double e) {
  return 1.0 / (1.0 + std::exp(-e));
}

double logit(double p) {
  return std::log(p / (1.0 - p));
}

double binomial_tail(std::int64_t r, std::int64_t v, double q) {
  if (r < 0) throw std::invalid_argument("the number of guesses r must be >= 0");
  check_probability("the success probability q", q);
  if (v <= 0) return 1.0;
  if (v > r) return 0.0;
  // P[X >= v] = P[X > v - 1], Boost's complemented cdf (ibeta, no cancellation).
  return boost::math::cdf(
      boost::math::complement(Binomial(static_cast<double>(r), q), static_cast<double>(v - 1)));
}

double pvalue(std::int64_t r, std::int64_t v, double e) {
  if (std::isnan(e)) throw std::invalid_argument("the privacy level e must not be NaN");
  if (r < 0) throw std::invalid_argument("the number of guesses r must be >= 0");
  if (v <= 0 || r == 0) return 1.0;
  if (v > r) {
    throw std::invalid_argument("correct guesses v=" + std::to_string(v) +
                                " exceed the guesses r=" + std::to_string(r));
  }
  return std::min(binomial_tail(r, v, sigmoid(e)), 1.0);
}

double pvalue_steinke(std::int64_t m, std::int64_t r, std::int64_t v, double eps, double delta) {
  check_counts(m, r, v);
  check_probability("delta", delta);
  return pvalue_with_slack(m, r, v, eps, delta);
}

double pvalue_relaxed(std::int64_t m, std::int64_t r, std::int64_t v, double eps, double delta,
                      double gamma) {
  check_counts(m, r, v);
  check_probability("delta", delta);
  check_probability("gamma", gamma);
  // Union of the two failure events, written as the reference writes it (equal to 1-(1-γ)(1-δ));
  // with γ = 0 it is exactly δ, so this reduces to the Steinke p-value bit for bit.
  return pvalue_with_slack(m, r, v, eps, gamma + delta - gamma * delta);
}

double pvalue_relaxed_reference(std::int64_t m, std::int64_t r, std::int64_t v, double eps,
                                double delta, double gamma) {
  check_counts(m, r, v);
  check_probability("delta", delta);
  check_probability("gamma", gamma);
  // The reference tests `delta == 0` first and returns the plain tail, so γ never enters when δ =
  // 0.
  if (delta == 0.0) return pvalue(r, v, eps);
  const double slack = gamma == 0.0 ? delta : gamma + delta - gamma * delta;
  return pvalue_with_slack(m, r, v, eps, slack);
}

std::int64_t binomial_isf(double tail, std::int64_t r, double q) {
  if (r < 0) throw std::invalid_argument("the number of trials r must be >= 0");
  check_probability("the success probability q", q);
  if (!(tail > 0.0 && tail < 1.0)) {
    throw std::invalid_argument("the upper-tail probability must lie in (0, 1), got " +
                                std::to_string(tail));
  }
  if (r == 0 || q == 0.0) return 0;
  if (q == 1.0) return r;
  const Binomial dist(static_cast<double>(r), q);
  // Boost's discrete rounding rules differ from scipy's; take its answer as a starting point and
  // step to the smallest k with P[X > k] <= tail, which is scipy's definition.
  const double guess = boost::math::quantile(boost::math::complement(dist, tail));
  auto k = std::clamp(static_cast<std::int64_t>(std::llround(guess)), std::int64_t{0}, r);
  const auto survival = [&](std::int64_t x) {
    return boost::math::cdf(boost::math::complement(dist, static_cast<double>(x)));
  };
  while (k > 0 && survival(k - 1) <= tail) --k;
  while (k < r && survival(k) > tail) ++k;
  return k;
}

double max_precision(std::int64_t r, double e_max, double tail) {
  if (r == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(binomial_isf(tail, r, sigmoid(e_max))) / static_cast<double>(r);
}

}  // namespace panoramia::stats
