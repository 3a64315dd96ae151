// The `csv` plugin's schema.json: either a schema that writes back to JSON that reads to the same
// JSON, or one sentence.
#include <cstdlib>

#include "fuzz_input.hpp"
#include "schema_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto schema = panoramia::csv::schema_from_json(text, "schema.json");
    const auto json = panoramia::csv::schema_to_json(schema);
    if (panoramia::csv::schema_to_json(panoramia::csv::schema_from_json(json, "round trip")) !=
        json)
      std::abort();
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
  }
  return 0;
}
