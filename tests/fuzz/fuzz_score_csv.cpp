// The `stats` score CSV reader: any bytes either parse or throw one sentence, and the parse in four
// chunks (one thread each) gives the same table or the same error as the parse in one, as
// parse_score_csv promises.
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "stats/score_csv.hpp"

namespace {

struct Outcome {
  panoramia::stats::ScoreTable table;
  std::string error;  // empty: parsed
};

Outcome parse(std::string_view text, std::size_t chunks) {
  Outcome out;
  try {
    out.table = panoramia::stats::parse_score_csv(text, "fuzz.csv", chunks);
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
    out.error = e.what();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Outcome one = parse(text, 1), four = parse(text, 4);
  if (one.error != four.error) std::abort();
  if (one.table.member != four.table.member || one.table.names != four.table.names ||
      one.table.scores != four.table.scores)
    std::abort();
  return 0;
}
