#pragma once
/// \file
/// The Steinke–Nasr–Jagielski "one training run" audit (docs/method.md §1.6): m canaries, each in
/// the training set with probability 1/2; the auditor guesses "member" for the k+ lowest-loss
/// canaries, "non-member" for the k− highest-loss ones and abstains on the rest; r = k+ + k−, v =
/// correct guesses of both kinds; ε is lower-bounded with Steinke's p-value including the δ term.
///
/// The choice of (k+, k−) must not look at the evaluated guesses, or the bound is invalid. Modes:
/// - kFixed: k+ and k− given in advance; level = 1 − confidence.
/// - kBonferroni: every pair of a grid is tried; level = (1 − confidence) / pairs.
/// - kSplit: the pair is chosen on one half of the canaries (uncorrected) and evaluated on the
/// other
///   half at level 1 − confidence (m = that half).
/// - kReference: the reference `find_O1_pred` (0.01 loss grid, t_pos sweep, then t_neg sweep
/// against
///   the best t_pos so far, p = 0.05, δ = 0, no correction for the ~|grid|²/2 tests). OPTIMISTIC:
///   it is not a valid bound; offered only to reproduce published numbers.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "stats/bound.hpp"

namespace panoramia::stats {

enum class O1Selection { kFixed, kBonferroni, kSplit, kReference };

struct O1Options {
  O1Selection selection = O1Selection::kBonferroni;
  double confidence = 0.95;
  double delta = 0;          ///< the target's DP δ (0 for a non-DP target)
  std::int64_t k_plus = 0;   ///< kFixed only
  std::int64_t k_minus = 0;  ///< kFixed only
  /// kBonferroni / kSplit: candidate k+ and k− as fractions of the canaries.
  std::vector<double> grid = {0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5};
  BoundSearch search = BoundSearch::kReference;
  std::uint64_t split_seed = 0;  ///< kSplit: which canaries form the selection half
};

/// The guesses a one-run bound (O(1), f-DP) was computed from.
struct OneRunGuesses {
  std::int64_t m = 0;  ///< canaries in the evaluation (half of them for kSplit)
  std::int64_t r = 0;  ///< guesses made (k+ + k−)
  std::int64_t v = 0;  ///< correct guesses
  std::int64_t k_plus = 0;
  std::int64_t k_minus = 0;
  double level = 0;
  std::int64_t tests = 1;  ///< (k+, k−) pairs the level was corrected for
};

struct O1Result : OneRunGuesses {
  double eps_lb = 0;
  bool optimistic = false;  ///< true for kReference
};

/// The (k+, k−) guess counts a grid of fractions gives on m canaries: floor(fraction · m),
/// deduplicated, 0 < k+ + k− <= m; the one-run audits (O(1), f-DP) all use these. `audit` names the
/// audit in the error thrown for a fraction outside [0, 1] or a grid that gives no pair.
std::vector<std::pair<std::int64_t, std::int64_t>> guess_count_pairs(
    const std::vector<double>& grid, std::int64_t m, const std::string& audit);

/// The canaries in two halves, by a shuffle seeded with `seed` (the same halves for every one-run
/// audit with that seed): the guess counts are chosen on `select` and evaluated once on `assess`.
struct CanarySplit {
  std::vector<double> select_loss, assess_loss;
  std::vector<int> select_member, assess_member;
};
/// Throws std::invalid_argument (naming `audit`) with fewer than 2 canaries.
CanarySplit split_canaries(const std::vector<double>& loss, const std::vector<int>& member,
                           std::uint64_t seed, const std::string& audit);
/// (k+, k−) chosen on the selection half, scaled to the assessment half (floor of k · assess /
/// select), with k− cut so that k+ + k− fits the assessment half.
std::pair<std::int64_t, std::int64_t> scale_guess_counts(const CanarySplit& split,
                                                         std::int64_t k_plus, std::int64_t k_minus);

/// Counts (r, v) for guessing member on the k+ lowest losses and non-member on the k− highest.
/// Ties are broken by index, so the result is deterministic. Requires k+ + k− <= m.
void o1_guesses(const std::vector<double>& loss, const std::vector<int>& member,
                std::int64_t k_plus, std::int64_t k_minus, std::int64_t& r, std::int64_t& v);

/// The O(1) lower bound on ε for canary losses (lower = more member-like) and their true
/// inclusion bits. Throws std::invalid_argument for mismatched sizes or invalid options.
O1Result o1_audit(const std::vector<double>& loss, const std::vector<int>& member,
                  const O1Options& options);

const char* to_string(O1Selection selection);
/// "fixed", "bonferroni", "split" or "reference" (the option's names); another name throws
/// std::invalid_argument naming `option`.
O1Selection parse_o1_selection(const std::string& name, const std::string& option);

}  // namespace panoramia::stats
