// The `csv` plugin's reader: RFC 4180 tokenising, then the table (header, inferred kinds, missing
// values imputed, a label column). Either a batch whose shape matches its schema, or one sentence.
#include <cstdlib>

#include <ATen/ATen.h>

#include "fuzz_input.hpp"
#include "table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace csv = panoramia::csv;
  for (const bool header : {true, false}) {
    csv::TableOptions options;
    options.source = "fuzz.csv";
    options.header = header;
    if (!header) options.columns = {"a", "b", "label"};
    options.missing_token = "?";
    options.missing = header ? csv::MissingPolicy::kImpute : csv::MissingPolicy::kDrop;
    options.label = header ? "" : "label";
    try {
      const auto records = csv::parse_csv(text, options.format, options.source);
      const auto batch = csv::build_table(records, options);
      if (batch.x.defined() && batch.x.dim() != 2) std::abort();
    } catch (const std::exception& e) {
      panoramia::fuzz::expect_message(e);
    }
  }
  return 0;
}
