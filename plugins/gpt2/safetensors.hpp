#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
// header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__":
// {...}}, then the raw little-endian tensor bytes (offsets relative to the end of the header).

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace panoramia::gpt2 {

/// Every tensor of the file, in its stored dtype (F64, F32, F16, BF16, I64, I32, I16, I8, U8,
/// BOOL), on the CPU. Throws naming the file and the tensor or byte offset for a truncated file, a
/// malformed header, an unknown dtype or offsets that do not match the shape.
std::map<std::string, at::Tensor> read_safetensors(const std::filesystem::path& file);

/// Writes `tensors` (in the given order, made contiguous, on the CPU) with optional string
/// metadata. Throws naming the file when it cannot be written.
void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace panoramia::gpt2
