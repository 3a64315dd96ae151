#pragma once
// Reading tensors out of a zip-format torch.save file (what Python's torch.save writes since
// PyTorch 1.6, and torch::pickle_save in C++). LibTorch's own unpickler turns the OrderedDict of a
// Python state dict into None, so this is a small pickle machine for the opcodes torch.save uses
// for (nested) dicts, lists and tuples of tensors.

#include <filesystem>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace panoramia::vit {

/// Every tensor reachable through dicts in `file`, by its dotted key path (a dict nested under key
/// "model" yields "model.<name>"). Throws naming the file and the pickle offset of anything it
/// cannot read.
std::map<std::string, at::Tensor> read_torch_save(const std::filesystem::path& file);

}  // namespace panoramia::vit
