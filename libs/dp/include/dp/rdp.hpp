#pragma once
// Rényi-DP accounting of the Poisson-subsampled Gaussian mechanism (DP-SGD), after Mironov, Talwar
// and Zhang (2019), "Rényi Differential Privacy of the Sampled Gaussian Mechanism"
// (arXiv:1908.10530), Section 3.3: an exact series for integer orders and a two-sided series with
// erfc weights for fractional orders; the conversion to (ε, δ)-DP; and the noise multiplier that
// reaches a target ε. Add/remove-one adjacency, sensitivity = the clipping norm. Pure functions and
// a plain value type; not thread-safe only in the sense that an RdpAccountant is not shared.

#include <cstdint>
#include <vector>

namespace panoramia::dp {

/// RDP orders searched by default: 1.1, 1.2, ..., 10.9 (Opacus' RDPAccountant.DEFAULT_ALPHAS),
/// 1.25, 1.75, 2.25 (TF Privacy's fractional orders), 11 ... 63, 128 and 256. The ε reported is the
/// minimum over the orders, so a larger set only tightens it.
std::vector<double> default_orders();

/// RDP ε(α) of ONE step of the sampled Gaussian mechanism with sampling rate `q` in [0, 1] and
/// noise multiplier `sigma` >= 0 (noise std / sensitivity), at order `alpha` > 1 (may be +inf).
/// Returns 0 for q = 0 and +inf for sigma = 0. Throws std::invalid_argument for parameters out of
/// range.
double sampled_gaussian_rdp(double q, double sigma, double alpha);

/// RDP of `steps` compositions at each order (RDP composes additively).
std::vector<double> sampled_gaussian_rdp(double q, double sigma, std::int64_t steps,
                                         const std::vector<double>& orders);

/// How RDP becomes (ε, δ)-DP.
enum class Conversion {
  /// ε = rdp + log((α-1)/α) - (log δ + log α)/(α-1): Balle et al. 2020, "Hypothesis testing
  /// interpretations and Rényi differential privacy", Theorem 21 (arXiv:1905.09982); the formula
  /// Opacus' get_privacy_spent uses since v0.14 and dp_accounting's compute_epsilon.
  kBalle2020,
  /// ε = rdp - log δ/(α-1): Mironov 2017, "Rényi differential privacy", Proposition 3 (the
  /// classic conversion, as TF Privacy's rdp_accountant used).
  kMironov2017,
};

struct PrivacySpent {
  double epsilon = 0;  // +inf when no order gives a finite bound
  double order = 0;    // the order that attains it
};

/// (ε, δ) from RDP values at `orders` (same length, orders > 1), minimised over the orders and
/// clipped at 0. Throws std::invalid_argument for δ outside (0, 1) or mismatched lengths.
PrivacySpent epsilon_from_rdp(const std::vector<double>& orders, const std::vector<double>& rdp,
                              double delta, Conversion conversion = Conversion::kBalle2020);

/// ε at δ after `steps` steps of DP-SGD with sampling rate `q` and noise multiplier `sigma`.
PrivacySpent dp_sgd_epsilon(double q, double sigma, std::int64_t steps, double delta,
                            const std::vector<double>& orders = default_orders(),
                            Conversion conversion = Conversion::kBalle2020);

/// The smallest noise multiplier (to a relative precision of 1e-6, rounded up) with which `steps`
/// steps at sampling rate `q` spend at most `target_epsilon` at `delta`, found by bisection; the
/// returned σ always satisfies dp_sgd_epsilon(q, σ, steps, delta) <= target_epsilon. Throws
/// std::invalid_argument for a non-positive target, q outside (0, 1], steps < 1 or δ outside (0,
/// 1), and std::runtime_error when even σ = 1e6 does not reach the target.
double noise_for_epsilon(double target_epsilon, double delta, double q, std::int64_t steps,
                         const std::vector<double>& orders = default_orders(),
                         Conversion conversion = Conversion::kBalle2020);

/// Accumulates DP-SGD steps, possibly with changing (σ, q), and reports the spent budget.
class RdpAccountant {
 public:
  explicit RdpAccountant(std::vector<double> orders = default_orders());
  /// Records `count` steps with noise multiplier `sigma` and sampling rate `q`.
  void step(double sigma, double q, std::int64_t count = 1);
  std::int64_t steps() const;
  /// Total RDP at each order.
  std::vector<double> rdp() const;
  PrivacySpent spent(double delta, Conversion conversion = Conversion::kBalle2020) const;
  const std::vector<double>& orders() const { return orders_; }

 private:
  struct Phase {
    double sigma, q;
    std::int64_t count;
  };
  std::vector<double> orders_;
  std::vector<Phase> phases_;
};

}  // namespace panoramia::dp
