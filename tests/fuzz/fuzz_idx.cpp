// IDX files (MNIST, Fashion-MNIST), plain or gzipped, as the `idx` reader reads them from disk:
// header and sizes checked before anything is allocated or inflated.
#include <cstdlib>

#include "fuzz_input.hpp"
#include "idx_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = panoramia::fuzz::write_input("images.idx", bytes);
  for (const std::int64_t dims : {3, 1}) {
    try {
      const auto array = panoramia::idx::read_idx(file, dims);
      std::size_t product = 1;
      for (const auto d : array.dims) product *= static_cast<std::size_t>(d);
      if (static_cast<std::int64_t>(array.dims.size()) != dims || array.data.size() != product)
        std::abort();
    } catch (const std::exception& e) {
      panoramia::fuzz::expect_message(e);
    }
  }
  return 0;
}
