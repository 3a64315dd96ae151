#include "model_state.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::image {
namespace {

// Archive keys may not contain dots (they would be read as nested archives).
std::string key_of(const std::string& prefix, const std::string& name) {
  std::string key = prefix + name;
  for (auto& c : key)
    if (c == '.') c = '/';
  return key;
}

}  // namespace

ModelState copy_state(const torch::nn::Module& module) {
  torch::NoGradGuard guard;
  ModelState state;
  for (const auto& p : module.named_parameters())
    state.emplace_back(p.key(), p.value().detach().to(torch::kCPU).clone());
  for (const auto& b : module.named_buffers())
    state.emplace_back(b.key(), b.value().detach().to(torch::kCPU).clone());
  return state;
}

void restore_state(torch::nn::Module& module, const ModelState& state) {
  torch::NoGradGuard guard;
  std::size_t i = 0;
  auto copy = [&](const std::string& name, torch::Tensor& target) {
    if (i >= state.size() || state[i].first != name)
      throw std::runtime_error("saved model state does not match the network at tensor '" + name +
                               "'");
    if (state[i].second.sizes() != target.sizes())
      throw std::runtime_error("saved tensor '" + name + "' has shape " +
                               c10::str(state[i].second.sizes()) + " but the network's has " +
                               c10::str(target.sizes()));
    target.copy_(state[i++].second);
  };
  for (auto& p : module.named_parameters()) copy(p.key(), p.value());
  for (auto& b : module.named_buffers()) copy(b.key(), b.value());
  if (i != state.size()) throw std::runtime_error("saved model state has extra tensors");
}

void write_state(torch::serialize::OutputArchive& archive, const std::string& prefix,
                 const ModelState& state) {
  for (const auto& [name, tensor] : state) archive.write(key_of(prefix, name), tensor);
}

ModelState read_state(torch::serialize::InputArchive& archive, const std::string& prefix,
                      const torch::nn::Module& module) {
  ModelState state;
  auto read = [&](const std::string& name, bool buffer) {
    torch::Tensor t;
    if (!archive.try_read(key_of(prefix, name), t, buffer))
      throw std::runtime_error("checkpoint has no tensor '" + prefix + name + "'");
    state.emplace_back(name, t);
  };
  for (const auto& p : module.named_parameters()) read(p.key(), false);
  for (const auto& b : module.named_buffers()) read(b.key(), true);
  return state;
}

std::int64_t count_parameters(const torch::nn::Module& module, bool trainable_only) {
  std::int64_t total = 0;
  for (const auto& p : module.parameters())
    if (!trainable_only || p.requires_grad()) total += p.numel();
  return total;
}

}  // namespace panoramia::image
