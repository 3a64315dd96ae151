// `torch.save` checkpoints (a zip with a pickled state dict and tensor storages), as the `vit`
// plugin reads pretrained weights: the zip directory, the pickle machine (stack, memo, nesting,
// self-containing containers) and the storages' sizes.
#include <cstdlib>

#include <ATen/ATen.h>

#include "fuzz_input.hpp"
#include "torch_save.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = panoramia::fuzz::write_input("weights.pth", bytes);
  try {
    for (const auto& [name, tensor] : panoramia::vit::read_torch_save(file))
      if (!tensor.defined()) std::abort();
  } catch (const std::exception& e) {
    panoramia::fuzz::expect_message(e);
  }
  return 0;
}
