#include "stats/score_groups.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace panoramia::stats {
namespace {

constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
constexpr int kRadixBits = 8;
constexpr int kPasses = 64 / kRadixBits;
constexpr std::size_t kBuckets = std::size_t{1} << kRadixBits;

// An unsigned key with the same order as the double (NaN excluded); -0 folds into +0 so they group.
std::uint64_t order_key(double value) {
  if (value == 0.0) value = 0.0;
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits & kSignBit) ? ~bits : bits | kSignBit;
}

double from_order_key(std::uint64_t key) {
  const std::uint64_t bits = (key & kSignBit) ? key & ~kSignBit : ~key;
  double value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// LSD radix sort, ascending. A comparison sort of a million scores is the largest single cost of a
// summary; this is a few linear passes, and the passes whose byte is the same in every key (the
// exponent bytes of scores in [0, 1], mostly) are skipped.
void radix_sort(std::vector<std::uint64_t>& keys) {
  std::array<std::array<std::size_t, kBuckets>, kPasses> counts{};
  for (const std::uint64_t key : keys) {
    for (int pass = 0; pass < kPasses; ++pass) ++counts[pass][(key >> (pass * kRadixBits)) & 0xFF];
  }
  std::vector<std::uint64_t> buffer(keys.size());
  for (int pass = 0; pass < kPasses; ++pass) {
    auto& count = counts[pass];
    if (std::find(count.begin(), count.end(), keys.size()) != count.end()) continue;
    std::size_t offset = 0;
    for (std::size_t& c : count) offset += std::exchange(c, offset);
    for (const std::uint64_t key : keys) buffer[count[(key >> (pass * kRadixBits)) & 0xFF]++] = key;
    keys.swap(buffer);
  }
}

}  // namespace

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
  // The two classes are sorted separately so the flag need not travel with the key.
  std::vector<std::uint64_t> in;
  std::vector<std::uint64_t> out;
  in.reserve(scores.size() / 2 + 1);
  out.reserve(scores.size() / 2 + 1);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i]))
      throw std::invalid_argument("score " + std::to_string(i) + " is NaN");
    if (member[i] == 1) {
      in.push_back(order_key(scores[i]));
    } else if (member[i] == 0) {
      out.push_back(order_key(scores[i]));
    } else {
      throw std::invalid_argument("member flag " + std::to_string(i) + " is " +
                                  std::to_string(member[i]) + ", expected 0 or 1");
    }
  }
  radix_sort(in);
  radix_sort(out);

  ScoreGroups result;
  result.rows = static_cast<std::int64_t>(scores.size());
  result.members = static_cast<std::int64_t>(in.size());
  // Merge from the top (both arrays ascending, read backwards).
  std::size_t i = in.size();
  std::size_t o = out.size();
  std::int64_t r = 0;
  std::int64_t v = 0;
  while (i > 0 || o > 0) {
    const std::uint64_t key =
        (o == 0 || (i > 0 && in[i - 1] >= out[o - 1])) ? in[i - 1] : out[o - 1];
    ScoreGroup group{from_order_key(key), 0, 0};
    for (; i > 0 && in[i - 1] == key; --i) ++group.members;
    std::int64_t others = 0;
    for (; o > 0 && out[o - 1] == key; --o) ++others;
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
