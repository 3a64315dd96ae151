#pragma once
// Loading torchvision-layout ViT state dicts (files written by Python's torch.save(state_dict)
// or torch::pickle_save) into a VisionTransformer, with head replacement and position-embedding
// resizing.

#include <filesystem>
#include <map>
#include <string>

#include "vision_transformer.hpp"

namespace panoramia::vit {

using StateDict = std::map<std::string, torch::Tensor>;

/// The name -> tensor map in `file`; a dict nested under "model" or "state_dict" is unwrapped.
/// Throws naming the file when it is not a pickled dict of tensors.
StateDict read_state_dict(const std::filesystem::path& file);

/// Writes `net`'s parameters and buffers as a state dict file (readable by torch.load).
void write_state_dict(const std::filesystem::path& file, const torch::nn::Module& net);

struct LoadReport {
  std::int64_t tensors = 0;
  bool head_replaced = false;
  bool positions_resized = false;
};

/// Copies `dict` into `net` by name. Old torchvision names (mlp.linear_1/2) are accepted; a
/// position embedding for another grid is resized bicubically; with `replace_head` the heads.*
/// tensors are skipped and the network keeps its fresh head. Missing, unexpected or mis-shaped
/// tensors are one error naming the tensor and `file`.
LoadReport load_state_dict(VisionTransformerImpl& net, StateDict dict, bool replace_head,
                           const std::string& file);

}  // namespace panoramia::vit
