#include "stats/o1.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace panoramia::stats {
namespace {

// Indices sorted by loss ascending (ties by index).
std::vector<std::size_t> order_by_loss(const std::vector<double>& loss) {
  std::vector<std::size_t> order(loss.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
  return order;
}

O1Result evaluate(const std::vector<double>& loss, const std::vector<int>& member,
                  std::int64_t k_plus, std::int64_t k_minus, double level, double delta,
                  BoundSearch search) {
  O1Result out;
  out.m = static_cast<std::int64_t>(loss.size());
  out.k_plus = k_plus;
  out.k_minus = k_minus;
  out.level = level;
  o1_guesses(loss, member, k_plus, k_minus, out.r, out.v);
  out.eps_lb = lower_bound(BoundQuery{out.m, out.r, out.v, level, delta, 0.0}, search);
  return out;
}

O1Result best_over(const std::vector<double>& loss, const std::vector<int>& member,
                   const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs, double level,
                   double delta, BoundSearch search) {
  O1Result best;
  bool first = true;
  for (const auto& [kp, km] : pairs) {
    O1Result r = evaluate(loss, member, kp, km, level, delta, search);
    if (first || r.eps_lb > best.eps_lb) best = r;
    first = false;
  }
  best.tests = static_cast<std::int64_t>(pairs.size());
  return best;
}

// The reference find_O1_pred, with its quirks (docs/method.md §1.6), then the bound at 0.05.
O1Result reference(const std::vector<double>& loss, const std::vector<int>& member) {
  const auto [lo, hi] = std::minmax_element(loss.begin(), loss.end());
  // The reference walks a 0.01-step grid from the smallest loss to the largest, scanning every
  // canary at each point: bounded here, so that huge or infinite losses are an error, not a hang.
  constexpr double kMaxGridPoints = 20000;
  if (!std::isfinite(*lo) || !std::isfinite(*hi) || (*hi - *lo) / 0.01 > kMaxGridPoints) {
    throw std::invalid_argument(
        "selection = reference walks a 0.01-step grid over the canaries' losses, which here run "
        "from " +
        std::to_string(*lo) + " to " + std::to_string(*hi) + " (more than " +
        std::to_string(static_cast<int>(kMaxGridPoints)) +
        " points or not finite); use selection = bonferroni");
  }
  std::vector<double> grid;
  for (double t = *lo; t <= *hi + 0.01; t += 0.01) grid.push_back(t);
  const std::int64_t m = static_cast<std::int64_t>(loss.size());
  constexpr double kLevel = 0.05;
  O1Result best;
  best.m = m;
  best.level = kLevel;
  best.optimistic = true;
  double best_t_pos = grid.front();
  bool have = false;
  for (double t_pos : grid) {
    std::int64_t r = 0, v = 0;
    for (std::size_t i = 0; i < loss.size(); ++i)
      if (loss[i] <= t_pos) {
        ++r;
        v += member[i];
      }
    const double eps = lower_bound(BoundQuery{m, r, v, kLevel, 0, 0}, BoundSearch::kReference);
    if (!have || eps > best.eps_lb) {
      best.eps_lb = eps;
      best.r = r;
      best.v = v;
      best_t_pos = t_pos;
      have = true;
    }
  }
  for (auto it = grid.rbegin(); it != grid.rend() && *it > best_t_pos; ++it) {
    std::int64_t r = 0, v = 0;
    for (std::size_t i = 0; i < loss.size(); ++i) {
      if (loss[i] <= best_t_pos) {
        ++r;
        v += member[i];
      } else if (loss[i] >= *it) {
        ++r;
        v += 1 - member[i];
      }
    }
    const double eps = lower_bound(BoundQuery{m, r, v, kLevel, 0, 0}, BoundSearch::kReference);
    if (eps > best.eps_lb) {
      best.eps_lb = eps;
      best.r = r;
      best.v = v;
    }
  }
  best.tests = static_cast<std::int64_t>(grid.size() * (grid.size() + 1) / 2);
  return best;
}

}  // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> guess_count_pairs(
    const std::vector<double>& grid, std::int64_t m, const std::string& audit) {
  std::vector<std::int64_t> ks;
  for (double f : grid) {
    if (!(f >= 0 && f <= 1))
      throw std::invalid_argument(audit + " grid fractions must be in [0, 1]");
    ks.push_back(static_cast<std::int64_t>(std::floor(f * static_cast<double>(m))));
  }
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
  for (auto kp : ks)
    for (auto km : ks)
      if (kp + km > 0 && kp + km <= m) pairs.emplace_back(kp, km);
  if (pairs.empty()) throw std::invalid_argument("the " + audit + " grid gives no (k+, k-) pair");
  return pairs;
}

CanarySplit split_canaries(const std::vector<double>& loss, const std::vector<int>& member,
                           std::uint64_t seed, const std::string& audit) {
  std::vector<std::size_t> idx(loss.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  const std::size_t half = idx.size() / 2;
  CanarySplit split;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    (i < half ? split.select_loss : split.assess_loss).push_back(loss[idx[i]]);
    (i < half ? split.select_member : split.assess_member).push_back(member[idx[i]]);
  }
  if (split.select_loss.empty() || split.assess_loss.empty())
    throw std::invalid_argument(audit + " split needs 2 canaries or more");
  return split;
}

std::pair<std::int64_t, std::int64_t> scale_guess_counts(const CanarySplit& split,
                                                         std::int64_t k_plus,
                                                         std::int64_t k_minus) {
  const double assess_size = static_cast<double>(split.assess_loss.size());
  const auto scale = [&](std::int64_t k) {
    return static_cast<std::int64_t>(
        std::floor(static_cast<double>(k) * assess_size / split.select_loss.size()));
  };
  const auto assessed = static_cast<std::int64_t>(split.assess_loss.size());
  std::int64_t kp = scale(k_plus), km = scale(k_minus);
  if (kp + km > assessed) km = assessed - kp;
  return {kp, km};
}

const char* to_string(O1Selection selection) {
  switch (selection) {
    case O1Selection::kFixed:
      return "fixed";
    case O1Selection::kBonferroni:
      return "bonferroni";
    case O1Selection::kSplit:
      return "split";
    case O1Selection::kReference:
      return "reference (optimistic)";
  }
  return "?";
}

O1Selection parse_o1_selection(const std::string& name, const std::string& option) {
  if (name == "fixed") return O1Selection::kFixed;
  if (name == "bonferroni") return O1Selection::kBonferroni;
  if (name == "split") return O1Selection::kSplit;
  if (name == "reference") return O1Selection::kReference;
  throw std::invalid_argument(option + " '" + name +
                              "' is not one of fixed, bonferroni, split, reference");
}

void o1_guesses(const std::vector<double>& loss, const std::vector<int>& member,
                std::int64_t k_plus, std::int64_t k_minus, std::int64_t& r, std::int64_t& v) {
  const auto m = static_cast<std::int64_t>(loss.size());
  if (k_plus < 0 || k_minus < 0 || k_plus + k_minus > m)
    throw std::invalid_argument("O(1): k+ = " + std::to_string(k_plus) +
                                " and k- = " + std::to_string(k_minus) + " do not fit in " +
                                std::to_string(m) + " canaries");
  const auto order = order_by_loss(loss);
  r = k_plus + k_minus;
  v = 0;
  for (std::int64_t i = 0; i < k_plus; ++i) v += member[order[i]];
  for (std::int64_t i = 0; i < k_minus; ++i) v += 1 - member[order[m - 1 - i]];
}

O1Result o1_audit(const std::vector<double>& loss, const std::vector<int>& member,
                  const O1Options& o) {
  if (loss.size() != member.size() || loss.empty())
    throw std::invalid_argument("O(1): losses and inclusion bits must be non-empty and aligned");
  if (!(o.confidence > 0 && o.confidence < 1))
    throw std::invalid_argument("O(1): confidence must be in (0, 1)");
  const double alpha = 1 - o.confidence;
  const auto m = static_cast<std::int64_t>(loss.size());
  switch (o.selection) {
    case O1Selection::kFixed: {
      O1Result r = evaluate(loss, member, o.k_plus, o.k_minus, alpha, o.delta, o.search);
      return r;
    }
    case O1Selection::kBonferroni: {
      const auto pairs = guess_count_pairs(o.grid, m, "O(1)");
      return best_over(loss, member, pairs, alpha / static_cast<double>(pairs.size()), o.delta,
                       o.search);
    }
    case O1Selection::kSplit: {
      // Choose fractions on the first half, evaluate them once on the second.
      const auto split = split_canaries(loss, member, o.split_seed, "O(1)");
      const auto pairs =
          guess_count_pairs(o.grid, static_cast<std::int64_t>(split.select_loss.size()), "O(1)");
      const O1Result chosen =
          best_over(split.select_loss, split.select_member, pairs, alpha, o.delta, o.search);
      const auto [kp, km] = scale_guess_counts(split, chosen.k_plus, chosen.k_minus);
      return evaluate(split.assess_loss, split.assess_member, kp, km, alpha, o.delta, o.search);
    }
    case O1Selection::kReference:
      return reference(loss, member);
  }
  throw std::invalid_argument("O(1): unknown selection");
}

}  // namespace panoramia::stats
