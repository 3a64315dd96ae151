// CIFAR-10 binary batches: whole 3073-byte records with labels 0-9, or one sentence.
#include <cstdlib>

#include <ATen/ATen.h>

#include "cifar_file.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = panoramia::fuzz::write_input("data_batch_1.bin", bytes);
  try {
    const auto cifar = panoramia::cifar::read_cifar10({file}, 0);
    if (cifar.images.size(0) != cifar.labels.size(0)) std::abort();
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
  }
  return 0;
}
