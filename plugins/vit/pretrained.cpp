#include "pretrained.hpp"

#include "torch_save.hpp"

#include <fstream>
#include <regex>
#include <stdexcept>

#include <torch/serialize.h>
#include <torch/torch.h>

namespace panoramia::vit {
namespace {

/// torchvision < 0.13 called the MLP layers linear_1 and linear_2.
std::string modern_name(const std::string& name) {
  static const std::regex old(R"(\.mlp\.linear_([12])\.)");
  std::smatch m;
  if (!std::regex_search(name, m, old)) return name;
  return m.prefix().str() + (m[1] == "1" ? ".mlp.0." : ".mlp.3.") + m.suffix().str();
}

/// Resizes [1, 1 + g0*g0, D] to [1, 1 + g*g, D], keeping the class token's embedding.
torch::Tensor resize_positions(const torch::Tensor& pos, std::int64_t tokens) {
  const std::int64_t d = pos.size(2);
  const auto g0 = std::int64_t(std::llround(std::sqrt(double(pos.size(1) - 1))));
  const auto g = std::int64_t(std::llround(std::sqrt(double(tokens - 1))));
  if (g0 * g0 != pos.size(1) - 1 || g * g != tokens - 1)
    throw std::runtime_error("position embeddings are not square grids");
  auto grid = pos.slice(1, 1).reshape({1, g0, g0, d}).permute({0, 3, 1, 2});
  grid = torch::upsample_bicubic2d(grid, {g, g}, true);
  return torch::cat({pos.slice(1, 0, 1), grid.permute({0, 2, 3, 1}).reshape({1, g * g, d})}, 1);
}

}  // namespace

StateDict read_state_dict(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file))
    throw std::runtime_error("state dict file " + file.string() + " does not exist");
  auto tensors = read_torch_save(file);
  // Checkpoints often wrap the state dict: {"model": {...}} or {"state_dict": {...}}.
  for (const std::string wrapper : {"model.", "state_dict."}) {
    StateDict inner;
    for (const auto& [name, tensor] : tensors)
      if (name.rfind(wrapper, 0) == 0) inner[name.substr(wrapper.size())] = tensor;
    if (!inner.empty() && inner.size() == tensors.size()) return inner;
  }
  if (tensors.empty())
    throw std::runtime_error("state dict file " + file.string() + " holds no tensors");
  return tensors;
}

void write_state_dict(const std::filesystem::path& file, const torch::nn::Module& net) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& p : net.named_parameters()) dict.insert(p.key(), p.value().detach().cpu());
  for (const auto& b : net.named_buffers()) dict.insert(b.key(), b.value().detach().cpu());
  const auto bytes = torch::pickle_save(dict);
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

LoadReport load_state_dict(VisionTransformerImpl& net, StateDict dict, bool replace_head,
                           const std::string& file) {
  StateDict renamed;
  for (auto& [name, tensor] : dict) renamed[modern_name(name)] = tensor;
  LoadReport report;
  torch::NoGradGuard guard;
  for (auto& p : net.named_parameters()) {
    const std::string& name = p.key();
    const bool head = name.rfind("heads.", 0) == 0;
    if (head && replace_head) {
      renamed.erase(name);
      report.head_replaced = true;
      continue;
    }
    auto it = renamed.find(name);
    if (it == renamed.end())
      throw std::runtime_error("state dict file " + file + " has no tensor '" + name + "'");
    auto source = it->second.to(torch::kFloat32);
    if (name == "encoder.pos_embedding" && source.sizes() != p.value().sizes() &&
        source.dim() == 3 && source.size(2) == p.value().size(2)) {
      source = resize_positions(source, p.value().size(1));
      report.positions_resized = true;
    }
    if (source.sizes() != p.value().sizes())
      throw std::runtime_error("state dict file " + file + " has '" + name + "' of shape " +
                               c10::str(source.sizes()) + " but the network's is " +
                               c10::str(p.value().sizes()) + " (check preset, patch and width)");
    p.value().copy_(source);
    renamed.erase(it);
    ++report.tensors;
  }
  for (const auto& [name, tensor] : renamed)
    if (!(replace_head && name.rfind("heads.", 0) == 0))
      throw std::runtime_error("state dict file " + file + " has tensor '" + name +
                               "' that the network does not have");
  return report;
}

}  // namespace panoramia::vit
