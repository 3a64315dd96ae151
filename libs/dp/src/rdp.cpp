#include "dp/rdp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace panoramia::dp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Series terms below e^-30 are dropped: log A_α >= 0 (a Rényi divergence is non-negative), so they
// change log A_α by less than 1e-13.
constexpr double kNegligibleLog = -30.0;
constexpr std::int64_t kMaxSeriesTerms = 10'000'000;
constexpr double kMaxSigma = 1e6;

// A sum of signed terms given by their logarithms, kept as log(positive part) and log(negative
// part) so that each stays a plain log-sum-exp.
class LogSum {
 public:
  void add(double log_magnitude, bool negative) {
    double& part = negative ? neg_ : pos_;
    part = log_add(part, log_magnitude);
  }
  double log_value() const {
    if (neg_ == -kInf) return pos_;
    if (neg_ >= pos_) throw std::runtime_error("the RDP series lost its precision (negative sum)");
    return pos_ + std::log1p(-std::exp(neg_ - pos_));
  }

 private:
  static double log_add(double a, double b) {
    if (a < b) std::swap(a, b);
    if (b == -kInf) return a;
    return a + std::log1p(std::exp(b - a));
  }
  double pos_ = -kInf, neg_ = -kInf;
};

// log(erfc(x)), accurate where erfc(x) underflows: the asymptotic series
// erfc(x) = exp(-x²)/(x√π) · (1 - 1/(2x²) + 3/(2x²)² - 15/(2x²)³ + ...), whose truncation error at
// x > 26 after eight terms is below 1e-18.
double log_erfc(double x) {
  if (x < 26.0) return std::log(std::erfc(x));
  const double u = 1.0 / (2.0 * x * x);
  double term = 1.0, series = 1.0;
  for (int n = 1; n <= 8; ++n) {
    term *= -(2.0 * n - 1.0) * u;
    series += term;
  }
  return -x * x - std::log(x) - 0.5 * std::log(M_PI) + std::log(series);
}

// log A_α for integer α: A_α = Σ_k C(α,k) q^k (1-q)^(α-k) exp((k²-k)/(2σ²)) (Mironov et al. 2019,
// Section 3.3, integer case), with every term positive.
double log_a_integer(double q, double sigma, std::int64_t alpha) {
  LogSum sum;
  const double log_q = std::log(q), log_1q = std::log1p(-q), two_s2 = 2.0 * sigma * sigma;
  const double lg_alpha = std::lgamma(double(alpha) + 1.0);
  for (std::int64_t k = 0; k <= alpha; ++k) {
    const double kd = double(k);
    const double log_binom =
        lg_alpha - std::lgamma(kd + 1.0) - std::lgamma(double(alpha - k) + 1.0);
    sum.add(log_binom + kd * log_q + double(alpha - k) * log_1q + (kd * kd - kd) / two_s2, false);
  }
  return sum.log_value();
}

// log A_α for fractional α. Splitting the integral of μ0·(μ/μ0)^α at z0 = σ² log(1/q - 1) + 1/2,
// where the mixture ratio crosses 1, and expanding the binomial on each side gives
//   A_α = Σ_i C(α,i) [ (1-q)^(α-i) q^i e^((i²-i)/(2σ²)) ½erfc((i - z0)/(√2σ))
//                     + (1-q)^i q^(α-i) e^((j²-j)/(2σ²)) ½erfc((z0 - j)/(√2σ)) ],  j = α - i,
// where the generalised binomial coefficients change sign once i exceeds α.
double log_a_fractional(double q, double sigma, double alpha) {
  LogSum sum;
  const double log_q = std::log(q), log_1q = std::log1p(-q), two_s2 = 2.0 * sigma * sigma;
  const double z0 = sigma * sigma * std::log(1.0 / q - 1.0) + 0.5;
  const double scale = std::sqrt(2.0) * sigma, log_half = std::log(0.5);
  double log_binom = 0.0;  // log |C(α, i)|
  bool negative = false;   // sign of C(α, i)
  for (std::int64_t i = 0; i < kMaxSeriesTerms; ++i) {
    if (i > 0) {
      // C(α, i) = C(α, i-1) · (α - i + 1) / i
      const double factor = alpha - double(i) + 1.0;
      log_binom += std::log(std::abs(factor)) - std::log(double(i));
      if (factor < 0) negative = !negative;
    }
    const double id = double(i), j = alpha - id;
    const double log_s0 = log_binom + id * log_q + j * log_1q + (id * id - id) / two_s2 + log_half +
                          log_erfc((id - z0) / scale);
    const double log_s1 = log_binom + j * log_q + id * log_1q + (j * j - j) / two_s2 + log_half +
                          log_erfc((z0 - j) / scale);
    sum.add(log_s0, negative);
    sum.add(log_s1, negative);
    if (id > alpha && std::max(log_s0, log_s1) < kNegligibleLog) return sum.log_value();
  }
  throw std::runtime_error("the RDP series did not converge for q = " + std::to_string(q) +
                           ", sigma = " + std::to_string(sigma) +
                           ", order = " + std::to_string(alpha));
}

void check_delta(double delta) {
  if (!(delta > 0.0 && delta < 1.0))
    throw std::invalid_argument("delta must be in (0, 1), got " + std::to_string(delta));
}

}  // namespace

std::vector<double> default_orders() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x) orders.push_back(1.0 + x / 10.0);
  for (double extra : {1.25, 1.75, 2.25}) orders.push_back(extra);
  for (int a = 11; a < 64; ++a) orders.push_back(a);
  orders.push_back(128);
  orders.push_back(256);
  std::sort(orders.begin(), orders.end());
  return orders;
}

double sampled_gaussian_rdp(double q, double sigma, double alpha) {
  if (!(q >= 0.0 && q <= 1.0))
    throw std::invalid_argument("the sampling rate must be in [0, 1], got " + std::to_string(q));
  if (!(sigma >= 0.0))
    throw std::invalid_argument("the noise multiplier must be >= 0, got " + std::to_string(sigma));
  if (!(alpha > 1.0))
    throw std::invalid_argument("RDP orders must be > 1, got " + std::to_string(alpha));
  if (q == 0.0) return 0.0;
  if (sigma == 0.0 || std::isinf(alpha)) return kInf;
  if (q == 1.0) return alpha / (2.0 * sigma * sigma);  // the plain Gaussian mechanism
  const double log_a = alpha == std::floor(alpha) && alpha < 1e9
                           ? log_a_integer(q, sigma, static_cast<std::int64_t>(alpha))
                           : log_a_fractional(q, sigma, alpha);
  return std::max(0.0, log_a) / (alpha - 1.0);
}

std::vector<double> sampled_gaussian_rdp(double q, double sigma, std::int64_t steps,
                                         const std::vector<double>& orders) {
  if (steps < 0) throw std::invalid_argument("the number of steps must be >= 0");
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (const double a : orders) {
    const double r = sampled_gaussian_rdp(q, sigma, a);
    rdp.push_back(steps == 0 ? 0.0 : r * double(steps));
  }
  return rdp;
}

PrivacySpent epsilon_from_rdp(const std::vector<double>& orders, const std::vector<double>& rdp,
                              double delta, Conversion conversion) {
  check_delta(delta);
  if (orders.size() != rdp.size() || orders.empty())
    throw std::invalid_argument("epsilon_from_rdp needs one RDP value per order (got " +
                                std::to_string(orders.size()) + " orders and " +
                                std::to_string(rdp.size()) + " values)");
  PrivacySpent best{kInf, orders.front()};
  const double log_delta = std::log(delta);
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i];
    if (!(a > 1.0)) throw std::invalid_argument("RDP orders must be > 1, got " + std::to_string(a));
    double eps = conversion == Conversion::kBalle2020
                     ? rdp[i] + std::log1p(-1.0 / a) - (log_delta + std::log(a)) / (a - 1.0)
                     : rdp[i] - log_delta / (a - 1.0);
    if (std::isnan(eps)) eps = kInf;
    if (eps < best.epsilon) best = {eps, a};
  }
  best.epsilon = std::max(0.0, best.epsilon);
  return best;
}

PrivacySpent dp_sgd_epsilon(double q, double sigma, std::int64_t steps, double delta,
                            const std::vector<double>& orders, Conversion conversion) {
  return epsilon_from_rdp(orders, sampled_gaussian_rdp(q, sigma, steps, orders), delta, conversion);
}

double noise_for_epsilon(double target_epsilon, double delta, double q, std::int64_t steps,
                         const std::vector<double>& orders, Conversion conversion) {
  check_delta(delta);
  if (!(target_epsilon > 0.0))
    throw std::invalid_argument("the target epsilon must be > 0, got " +
                                std::to_string(target_epsilon));
  if (!(q > 0.0 && q <= 1.0))
    throw std::invalid_argument("the sampling rate must be in (0, 1], got " + std::to_string(q));
  if (steps < 1) throw std::invalid_argument("the number of steps must be >= 1");
  const auto eps = [&](double sigma) {
    return dp_sgd_epsilon(q, sigma, steps, delta, orders, conversion).epsilon;
  };
  // ε decreases with σ: bracket the target between lo (too little noise) and hi (enough).
  double lo = 0.0, hi = 1.0;
  while (eps(hi) > target_epsilon) {
    lo = hi;
    hi *= 2.0;
    if (hi > kMaxSigma)
      throw std::runtime_error("no noise multiplier up to 1e6 reaches epsilon " +
                               std::to_string(target_epsilon) + " at delta " +
                               std::to_string(delta) + " with sampling rate " + std::to_string(q) +
                               " over " + std::to_string(steps) + " steps");
  }
  while (hi - lo > 1e-6 * hi) {
    const double mid = 0.5 * (lo + hi);
    (eps(mid) > target_epsilon ? lo : hi) = mid;
  }
  return hi;
}

RdpAccountant::RdpAccountant(std::vector<double> orders) : orders_(std::move(orders)) {
  if (orders_.empty()) throw std::invalid_argument("the RDP accountant needs at least one order");
  for (const double a : orders_)
    if (!(a > 1.0)) throw std::invalid_argument("RDP orders must be > 1, got " + std::to_string(a));
}

void RdpAccountant::step(double sigma, double q, std::int64_t count) {
  if (count < 0) throw std::invalid_argument("the step count must be >= 0");
  sampled_gaussian_rdp(q, sigma, orders_.front());  // validates σ and q now, not at spent()
  if (!phases_.empty() && phases_.back().sigma == sigma && phases_.back().q == q)
    phases_.back().count += count;
  else
    phases_.push_back({sigma, q, count});
}

std::int64_t RdpAccountant::steps() const {
  std::int64_t n = 0;
  for (const auto& p : phases_) n += p.count;
  return n;
}

std::vector<double> RdpAccountant::rdp() const {
  std::vector<double> total(orders_.size(), 0.0);
  for (const auto& p : phases_) {
    const auto r = sampled_gaussian_rdp(p.q, p.sigma, p.count, orders_);
    for (size_t i = 0; i < total.size(); ++i) total[i] += r[i];
  }
  return total;
}

PrivacySpent RdpAccountant::spent(double delta, Conversion conversion) const {
  if (steps() == 0) {
    check_delta(delta);
    return {0.0, orders_.front()};
  }
  return epsilon_from_rdp(orders_, rdp(), delta, conversion);
}

}  // namespace panoramia::dp
