#pragma once
// The tabular schema as JSON, stored with every run and reusable as a fixed schema:
// {"columns": [{"name": "...", "kind": "continuous"|"categorical", "categories": [...]}, ...],
//  "label": "name" | null}

#include <string>

#include <panoramia/data.hpp>

namespace panoramia::csv {

std::string schema_to_json(const TabularSchema& schema);
/// Throws std::runtime_error naming `source` for malformed JSON or an inconsistent schema.
TabularSchema schema_from_json(const std::string& text, const std::string& source);

}  // namespace panoramia::csv
