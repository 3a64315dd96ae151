#include "stats/score_groups.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace panoramia::stats {

std::pair<std::int64_t, std::int64_t> ScoreGroups::count_above(double threshold) const {
  // Groups are in decreasing order; the first group not above the threshold ends the prefix.
  const auto end = std::partition_point(groups.begin(), groups.end(),
                                        [&](const ScoreGroup& g) { return g.value > threshold; });
  const auto count = static_cast<std::size_t>(end - groups.begin());
  if (count == 0) return {0, 0};
  return {guesses[count - 1], correct[count - 1]};
}

ScoreGroups group_scores(const std::vector<double>& scores, const std::vector<int>& member) {
  if (scores.size() != member.size()) {
    throw std::invalid_argument("got " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(member.size()) + " member flags");
  }
  // Sorting the two classes separately avoids carrying the flag through the sort (half the bytes moved).
  std::vector<double> in;
  std::vector<double> out;
  in.reserve(scores.size() / 2 + 1);
  out.reserve(scores.size() / 2 + 1);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) {
      throw std::invalid_argument("score " + std::to_string(i) + " is NaN");
    }
    if (member[i] == 1) {
      in.push_back(scores[i]);
    } else if (member[i] == 0) {
      out.push_back(scores[i]);
    } else {
      throw std::invalid_argument("member flag " + std::to_string(i) + " is " +
                                  std::to_string(member[i]) + ", expected 0 or 1");
    }
  }
  std::sort(in.begin(), in.end(), std::greater<>());
  std::sort(out.begin(), out.end(), std::greater<>());

  ScoreGroups result;
  result.rows = static_cast<std::int64_t>(scores.size());
  result.members = static_cast<std::int64_t>(in.size());
  std::size_t i = 0;
  std::size_t o = 0;
  std::int64_t r = 0;
  std::int64_t v = 0;
  while (i < in.size() || o < out.size()) {
    const double value = (o == out.size() || (i < in.size() && in[i] >= out[o])) ? in[i] : out[o];
    ScoreGroup group{value, 0, 0};
    for (; i < in.size() && in[i] == value; ++i) ++group.members;
    std::int64_t others = 0;
    for (; o < out.size() && out[o] == value; ++o) ++others;
    group.total = group.members + others;
    r += group.total;
    v += group.members;
    result.groups.push_back(group);
    result.guesses.push_back(r);
    result.correct.push_back(v);
  }
  return result;
}

}  // namespace panoramia::stats
