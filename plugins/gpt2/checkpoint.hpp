#pragma once
// GPT-2 weights in the Hugging Face directory layout: config.json (n_layer, n_head, n_embd,
// n_positions, vocab_size, ...) and model.safetensors. Hugging Face's GPT-2 stores the attention
// and MLP projections as Conv1D weights [in, out]: they are transposed to LibTorch's [out, in]
// on load and back on save. Our own checkpoints use the same layout, so Hugging Face can load them.

#include <filesystem>

#include "model.hpp"

namespace panoramia::gpt2 {

/// True when `dir` holds config.json and model.safetensors.
bool is_pretrained_dir(const std::filesystem::path& dir);

/// The model configuration in `dir`/config.json; throws naming the file and the key.
Gpt2Config read_config(const std::filesystem::path& dir);

/// Builds the model of `dir`/config.json and loads `dir`/model.safetensors into it (float32, on
/// `device`). Accepts the keys of GPT2Model or GPT2LMHeadModel ("transformer." prefix), ignores the
/// attention mask buffers and the tied "lm_head.weight"; throws naming the file and the tensor for
/// a missing, unexpected or wrongly shaped tensor.
Gpt2 load_pretrained(const std::filesystem::path& dir, c10::Device device = c10::kCPU);

/// Loads the weights of `dir` into an existing model with the same configuration.
void load_weights(Gpt2& model, const std::filesystem::path& dir);

/// Writes config.json and model.safetensors of `model` into the existing directory `dir`.
void save_pretrained(const Gpt2& model, const std::filesystem::path& dir);
/// The same for a model state (named parameters as `Gpt2Impl::named_parameters` gives them).
void save_pretrained(const Gpt2Config& config,
                     const std::vector<std::pair<std::string, at::Tensor>>& parameters,
                     const std::filesystem::path& dir);

/// True for the names of weights Hugging Face stores as Conv1D ([in, out]).
bool is_conv1d_weight(const std::string& name);

}  // namespace panoramia::gpt2
