#pragma once
// Helpers shared by the fuzz targets: the input as a file (for readers that take a path), and the
// rule every target checks: a parser either returns or throws a std::exception with a message.
// Anything else (a crash, a sanitizer report, a hang, unbounded memory) is what libFuzzer finds.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace panoramia::fuzz {

/// A scratch directory of this fuzzing process under $TMPDIR (or the system's), made once and
/// reused for every input.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d =
        std::filesystem::temp_directory_path() / ("panoramia-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

/// Writes `bytes` to `name` in the scratch directory (replacing it) and returns its path.
inline std::filesystem::path write_input(const std::string& name, std::string_view bytes) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the fuzzing machine's disk, not the input: stop loudly
  return path;
}

/// The input's parts separated by `separator` lines ("\n--8<--\n"), for targets that read several
/// files (a vocabulary and its merges, a config and its overrides).
inline std::vector<std::string_view> split_parts(std::string_view input,
                                                 std::string_view separator = "\n--8<--\n") {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = input.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + separator.size());
  }
  parts.push_back(input);
  return parts;
}

/// A thrown error must say something: an empty message is a defect too.
inline void expect_message(const std::exception& e) {
  if (e.what() == nullptr || e.what()[0] == '\0') std::abort();
}

}  // namespace panoramia::fuzz
