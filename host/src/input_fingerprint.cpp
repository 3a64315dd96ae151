#include "input_fingerprint.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "hashing.hpp"

namespace panoramia {
namespace {

namespace fs = std::filesystem;

void add_file(Hasher& h, const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  h.add(file.filename().string()).add(static_cast<std::uint64_t>(ec ? 0 : size));
  const auto time = fs::last_write_time(file, ec);
  h.add(static_cast<std::uint64_t>(ec ? 0 : time.time_since_epoch().count()));
}

}  // namespace

std::string input_files_fingerprint(const OptionValues& options) {
  Hasher h;
  for (const OptionSpec& spec : options.specs()) {
    if (spec.type != OptionType::kPath) continue;
    const std::string value = options.get_string(spec.name);
    h.add(spec.name).add(value);
    if (value.empty()) continue;
    const fs::path path(value);
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec) continue;
    if (fs::is_regular_file(status)) {
      add_file(h, path);
    } else if (fs::is_directory(status)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(path, ec))
        if (entry.is_regular_file(ec)) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      h.add(static_cast<std::uint64_t>(files.size()));
      for (const auto& file : files) add_file(h, file);
    }
  }
  return h.hex();
}

}  // namespace panoramia
