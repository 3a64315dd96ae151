// The RDP accountant against published values (each cited where it is used) and against a direct
// numerical integration of the definition of A_α.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dp/rdp.hpp"

namespace panoramia::dp {
namespace {

// Opacus' RDPAccountant.DEFAULT_ALPHAS: [1 + x / 10.0 for x in range(1, 100)] + list(range(12,
// 64)).
std::vector<double> opacus_alphas() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x) orders.push_back(1.0 + x / 10.0);
  for (int a = 12; a < 64; ++a) orders.push_back(a);
  return orders;
}

// A_α = ∫ N(z; 0, σ²) · ((1-q) + q·exp((2z-1)/(2σ²)))^α dz by the trapezoidal rule in log space, an
// independent route to the quantity the series computes (Mironov et al. 2019, Section 3.3).
double log_a_by_quadrature(double q, double sigma, double alpha) {
  const double lo = -30.0 * sigma, hi = alpha + 30.0 * sigma, h = sigma / 400.0;
  const auto log_f = [&](double z) {
    const double log_ratio = std::log1p(q * std::expm1((2.0 * z - 1.0) / (2.0 * sigma * sigma)));
    return -z * z / (2.0 * sigma * sigma) - std::log(sigma * std::sqrt(2.0 * M_PI)) +
           alpha * log_ratio;
  };
  double peak = -std::numeric_limits<double>::infinity();
  for (double z = lo; z <= hi; z += h) peak = std::max(peak, log_f(z));
  double sum = 0.0;
  for (double z = lo; z <= hi; z += h) sum += std::exp(log_f(z) - peak);
  return peak + std::log(sum * h);
}

TEST(Rdp, MatchesPublishedRdpOfPoissonSampledGaussian) {
  // google/differential-privacy, python/dp_accounting/dp_accounting/rdp/
  // rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian: q = 0.01, σ = 2.5,
  // 50 steps, rtol 1e-4. At commit 70c8c7cbf8959af7f7990a4df45be9cc35da4201 (the signed series of
  // Mironov et al., as Opacus and TF Privacy compute it) the values are:
  const std::vector<double> orders = {1.5, 2.5, 5, 50, 100};
  const std::vector<double> expected = {6.5007e-04, 1.0854e-03, 2.1808e-03, 2.3846e-02, 1.6742e+02};
  const auto rdp = sampled_gaussian_rdp(0.01, 2.5, 50, orders);
  ASSERT_EQ(rdp.size(), expected.size());
  for (size_t i = 0; i < rdp.size(); ++i)
    EXPECT_NEAR(rdp[i], expected[i], 1e-4 * expected[i]) << "order " << orders[i];
  // Since commit 0b109e959470c43e9f177d5411603b70a56cdc7a dp_accounting sums the absolute values of
  // the fractional-order series (an upper bound on A_α) and publishes 9 digits: equal at the
  // integer orders, larger at the fractional ones.
  const std::vector<double> upper = {6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02,
                                     1.67416308e02};
  EXPECT_LT(rdp[0], upper[0]);
  EXPECT_LT(rdp[1], upper[1]);
  for (size_t i = 2; i < rdp.size(); ++i)
    EXPECT_NEAR(rdp[i], upper[i], 1e-8 * upper[i]) << "order " << orders[i];
  EXPECT_EQ(sampled_gaussian_rdp(0.01, 2.5, std::numeric_limits<double>::infinity()),
            std::numeric_limits<double>::infinity());
}

TEST(Rdp, OpacusRdpAccountantTestValue) {
  // pytorch/opacus, opacus/tests/accountants_test.py, AccountingTest.test_rdp_accountant (added
  // in dfc822cf, unchanged at 4d0ebc84): σ = 1.5, q = 0.04, int(90 / 0.04) = 2250 steps,
  // δ = 1e-5, DEFAULT_ALPHAS, Balle et al. 2020 conversion -> ε = 7.32911117143 (7 places).
  RdpAccountant accountant(opacus_alphas());
  for (int i = 0; i < 2250; ++i) accountant.step(1.5, 0.04);
  EXPECT_EQ(accountant.steps(), 2250);
  EXPECT_NEAR(accountant.spent(1e-5).epsilon, 7.32911117143, 5e-8);
  EXPECT_NEAR(dp_sgd_epsilon(0.04, 1.5, 2250, 1e-5, opacus_alphas()).epsilon, 7.32911117143, 5e-8);
  // The default orders are a superset, so they can only tighten the bound.
  EXPECT_LE(dp_sgd_epsilon(0.04, 1.5, 2250, 1e-5).epsilon, accountant.spent(1e-5).epsilon);
}

TEST(Rdp, ConversionOfConstantRdpMatchesPublishedPureDpValue) {
  // google/differential-privacy rdp_privacy_accountant_test.py (commit above),
  // test_compute_epsilon_delta_pure_dp: orders 2..32, RDP 1.1 everywhere, δ = 1e-5
  // -> ε = 1.32783806176 at order 32 (the Balle et al. 2020 conversion).
  std::vector<double> orders;
  for (int a = 2; a <= 32; ++a) orders.push_back(a);
  const std::vector<double> rdp(orders.size(), 1.1);
  const auto spent = epsilon_from_rdp(orders, rdp, 1e-5);
  EXPECT_NEAR(spent.epsilon, 1.32783806176, 1e-10);
  EXPECT_EQ(spent.order, 32);
  // The classic conversion (Mironov 2017, Prop. 3) is looser: 1.1 + log(1e5)/31.
  const auto classic = epsilon_from_rdp(orders, rdp, 1e-5, Conversion::kMironov2017);
  EXPECT_NEAR(classic.epsilon, 1.1 + std::log(1e5) / 31.0, 1e-12);
  EXPECT_GT(classic.epsilon, spent.epsilon);
}

TEST(Rdp, GaussianMechanismCalibratedToOneEpsilon) {
  // google/differential-privacy rdp_privacy_accountant_test.py (commit above),
  // test_compute_epsilon_delta_gaussian: q = 1, σ = 4.530877117 gives exactly (1, 1e-6)-DP over
  // the orders 1.001, 1.002, ..., 99.999 (7 places). (The published grid starts at 1.000, which
  // that code discards; orders must be > 1 here.)
  std::vector<double> orders;
  for (int i = 1001; i < 100000; ++i) orders.push_back(0.001 * i);
  EXPECT_NEAR(dp_sgd_epsilon(1.0, 4.530877117, 1, 1e-6, orders).epsilon, 1.0, 5e-7);
}

TEST(Rdp, AbadiEtAlMnistExampleWithTheMomentsAccountant) {
  // Abadi et al. 2016, "Deep Learning with Differential Privacy" (arXiv:1607.00133), Section 3.1:
  // "if q = 0.01, σ = 4, δ = 1e-5, and T = 10000, we have ε ≈ 1.26 using the moments
  // accountant" (integer moments λ <= 32, i.e. RDP orders 2..33, with the classic conversion).
  std::vector<double> orders;
  for (int a = 2; a <= 33; ++a) orders.push_back(a);
  const auto classic = dp_sgd_epsilon(0.01, 4.0, 10000, 1e-5, orders, Conversion::kMironov2017);
  EXPECT_NEAR(classic.epsilon, 1.26, 0.005);
  // The improved conversion with the default orders is tighter.
  EXPECT_LT(dp_sgd_epsilon(0.01, 4.0, 10000, 1e-5).epsilon, classic.epsilon);
}

TEST(Rdp, SeriesAgreesWithNumericalIntegration) {
  struct Case {
    double q, sigma, alpha;
  };
  for (const Case c :
       {Case{0.01, 2.5, 1.5}, Case{0.01, 2.5, 2.5}, Case{0.04, 1.5, 3.7}, Case{0.04, 1.5, 4.0},
        Case{0.1, 1.0, 7.0}, Case{0.001, 0.8, 12.3}, Case{0.5, 5.0, 30.5}, Case{0.01, 10.0, 20.0},
        Case{0.2, 0.9, 1.25}, Case{0.9, 3.0, 5.5}}) {
    const double series = sampled_gaussian_rdp(c.q, c.sigma, c.alpha) * (c.alpha - 1.0);
    const double quad = log_a_by_quadrature(c.q, c.sigma, c.alpha);
    // Float64 both; the tolerance is the quadrature's own error (a Riemann sum with step h over a
    // smooth, Gaussian-tailed integrand, ≲ 1e-7 absolute / 1e-6 relative here), not rounding
    // (≤ ~1e-13); a wrong term or sign in the series is off by ≥ 1e-3 relative.
    EXPECT_NEAR(series, quad, 1e-7 + 1e-6 * std::abs(quad))
        << "q " << c.q << " sigma " << c.sigma << " order " << c.alpha;
  }
}

TEST(Rdp, EdgeCasesAndArgumentChecks) {
  EXPECT_EQ(sampled_gaussian_rdp(0.0, 1.0, 2.0), 0.0);
  EXPECT_EQ(sampled_gaussian_rdp(0.5, 0.0, 2.0), std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(sampled_gaussian_rdp(1.0, 2.0, 3.0), 3.0 / 8.0);  // α / (2σ²)
  EXPECT_THROW(sampled_gaussian_rdp(1.5, 1.0, 2.0), std::invalid_argument);
  EXPECT_THROW(sampled_gaussian_rdp(0.1, -1.0, 2.0), std::invalid_argument);
  EXPECT_THROW(sampled_gaussian_rdp(0.1, 1.0, 1.0), std::invalid_argument);
  EXPECT_THROW(epsilon_from_rdp({2.0}, {0.1}, 0.0), std::invalid_argument);
  EXPECT_THROW(epsilon_from_rdp({2.0, 3.0}, {0.1}, 1e-5), std::invalid_argument);
  EXPECT_EQ(dp_sgd_epsilon(0.1, 0.0, 10, 1e-5).epsilon, std::numeric_limits<double>::infinity());
  RdpAccountant empty;
  EXPECT_EQ(empty.spent(1e-5).epsilon, 0.0);
  // The RDP of a subsampled mechanism grows with q and the order, and shrinks with σ.
  EXPECT_LT(sampled_gaussian_rdp(0.01, 1.0, 8.0), sampled_gaussian_rdp(0.02, 1.0, 8.0));
  EXPECT_LT(sampled_gaussian_rdp(0.01, 1.0, 8.0), sampled_gaussian_rdp(0.01, 1.0, 8.5));
  EXPECT_GT(sampled_gaussian_rdp(0.01, 1.0, 8.0), sampled_gaussian_rdp(0.01, 1.1, 8.0));
}

TEST(Rdp, AccountantComposesPhasesAdditively) {
  RdpAccountant accountant({2.0, 4.5, 32.0});
  accountant.step(1.0, 0.01, 100);
  accountant.step(2.0, 0.05, 30);
  accountant.step(1.0, 0.01, 50);
  EXPECT_EQ(accountant.steps(), 180);
  const auto total = accountant.rdp();
  const auto a = sampled_gaussian_rdp(0.01, 1.0, 150, accountant.orders());
  const auto b = sampled_gaussian_rdp(0.05, 2.0, 30, accountant.orders());
  // Float64: the accountant sums the same per-step terms in another grouping (100 + 50 steps vs
  // 150, then + b): a few roundings, ≤ 10·u64 ≈ 1e-15 relative; 1e-12 leaves 1000x, a phase
  // counted twice or dropped is off by ≥ 1e-2.
  for (size_t i = 0; i < total.size(); ++i) EXPECT_NEAR(total[i], a[i] + b[i], 1e-12 * total[i]);
}

TEST(Rdp, NoiseForEpsilonInvertsTheAccountant) {
  // pytorch/opacus opacus/tests/accountants_test.py at 4d0ebc84613d214fbfd37fbfd1390e3747a625ce,
  // test_get_noise_multiplier_rdp_epochs / _rdp_steps: ε = 8, δ = 1e-5, q = 0.04, 90 epochs
  // (2250 steps) -> σ = 1.416, 2000 steps -> σ = 1.3562 (4 places), from a bisection that stops
  // once ε is within 0.01 below the target. So those σ spend between 7.99 and 8, and the exact σ
  // is at most them.
  struct Published {
    int64_t steps;
    double sigma;
  };
  for (const Published p : {Published{2250, 1.416}, Published{2000, 1.3562}}) {
    const double eps_published =
        dp_sgd_epsilon(0.04, p.sigma, p.steps, 1e-5, opacus_alphas()).epsilon;
    EXPECT_LE(eps_published, 8.0 + 1e-3) << p.steps;  // +1e-3: the σ are rounded to 4 places
    EXPECT_GE(eps_published, 7.99 - 1e-3) << p.steps;
    const double sigma = noise_for_epsilon(8.0, 1e-5, 0.04, p.steps, opacus_alphas());
    EXPECT_LE(sigma, p.sigma + 5e-5) << p.steps;
    EXPECT_GT(sigma, p.sigma - 0.002) << p.steps;
    const double eps = dp_sgd_epsilon(0.04, sigma, p.steps, 1e-5, opacus_alphas()).epsilon;
    EXPECT_LE(eps, 8.0);
    EXPECT_GT(eps, 8.0 - 1e-4);
  }

  for (const double target : {0.5, 1.0, 4.0, 8.0}) {
    const double s = noise_for_epsilon(target, 1e-5, 256.0 / 26048.0, 10 * 102);
    EXPECT_LE(dp_sgd_epsilon(256.0 / 26048.0, s, 10 * 102, 1e-5).epsilon, target);
    EXPECT_GT(dp_sgd_epsilon(256.0 / 26048.0, s * (1 - 1e-4), 10 * 102, 1e-5).epsilon, target);
  }
  EXPECT_THROW(noise_for_epsilon(0.0, 1e-5, 0.01, 100), std::invalid_argument);
  EXPECT_THROW(noise_for_epsilon(1.0, 1e-5, 0.0, 100), std::invalid_argument);
  EXPECT_THROW(noise_for_epsilon(1.0, 1e-5, 0.01, 0), std::invalid_argument);
}

}  // namespace
}  // namespace panoramia::dp
