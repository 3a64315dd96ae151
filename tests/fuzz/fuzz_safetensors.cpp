// Hugging Face safetensors files (GPT-2 weights): the header length, the JSON header and the tensor
// table (dtypes, shapes, offsets) checked against the file before any tensor is made.
#include <cstdlib>

#include <ATen/ATen.h>

#include "fuzz_input.hpp"
#include "safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = panoramia::fuzz::write_input("model.safetensors", bytes);
  try {
    for (const auto& [name, tensor] : panoramia::gpt2::read_safetensors(file))
      if (name.empty() || !tensor.defined()) std::abort();
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
  }
  return 0;
}
