#pragma once
// Base64 (RFC 4648, with padding) for the report's data URIs.

#include <string>

namespace panoramia::report {

std::string base64(const std::string& bytes);

}  // namespace panoramia::report
