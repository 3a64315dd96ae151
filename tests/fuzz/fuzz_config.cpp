// The INI config and its --set overrides: the input is an INI file, then override lines after a
// "--8<--" separator line. Loading and overriding either succeed or throw one sentence.
#include <string>

#include "config.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = panoramia::fuzz::split_parts(input);
  try {
    auto config = panoramia::RawConfig::load(panoramia::fuzz::write_input("audit.ini", parts[0]));
    for (std::size_t i = 1; i < parts.size(); ++i) {
      std::string_view lines = parts[i];
      while (!lines.empty()) {
        const auto end = lines.find('\n');
        config.apply_override(std::string(lines.substr(0, end)));
        if (end == std::string_view::npos) break;
        lines.remove_prefix(end + 1);
      }
    }
    (void)config.get("audit", "seed");
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
  }
  return 0;
}
