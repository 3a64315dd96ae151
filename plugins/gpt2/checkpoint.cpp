#include "checkpoint.hpp"

#include <panoramia/options.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "safetensors.hpp"

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::int64_t get_int(const nlohmann::json& j, const fs::path& file,
                     std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    if (j.contains(key)) {
      if (!j[key].is_number_integer())
        throw std::runtime_error(file.string() + ": '" + key + "' is not an integer");
      return j[key].get<std::int64_t>();
    }
  throw std::runtime_error(file.string() + ": '" + *keys.begin() + "' is missing");
}

}  // namespace

bool is_conv1d_weight(const std::string& name) {
  return ends_with(name, "attn.c_attn.weight") || ends_with(name, "attn.c_proj.weight") ||
         ends_with(name, "mlp.c_fc.weight") || ends_with(name, "mlp.c_proj.weight");
}

bool is_pretrained_dir(const fs::path& dir) {
  return fs::exists(dir / "config.json") && fs::exists(dir / "model.safetensors");
}

Gpt2Config read_config(const fs::path& dir) {
  const fs::path file = dir / "config.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open the model configuration " + file.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file.string() + " is not valid JSON: " + e.what());
  }
  if (j.contains("model_type") && j["model_type"] != "gpt2")
    throw std::runtime_error(file.string() + ": model_type is " + j["model_type"].dump() +
                             ", not \"gpt2\"");
  if (j.contains("activation_function")) {
    const auto act = j["activation_function"].get<std::string>();
    if (act != "gelu_new" && act != "gelu_pytorch_tanh" && act != "gelu_fast")
      throw std::runtime_error(file.string() + ": activation_function '" + act +
                               "' is not supported (the tanh GELU of GPT-2 is)");
  }
  Gpt2Config c;
  c.layers = get_int(j, file, {"n_layer", "num_hidden_layers"});
  c.heads = get_int(j, file, {"n_head", "num_attention_heads"});
  c.width = get_int(j, file, {"n_embd", "hidden_size"});
  c.context = get_int(j, file, {"n_positions", "n_ctx", "max_position_embeddings"});
  c.vocab = get_int(j, file, {"vocab_size"});
  if (j.contains("resid_pdrop")) c.dropout = j["resid_pdrop"].get<double>();
  if (j.contains("layer_norm_epsilon")) c.layer_norm_eps = j["layer_norm_epsilon"].get<double>();
  try {
    c.validate();
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  return c;
}

namespace {

std::map<std::string, at::Tensor> read_stored_weights(const fs::path& dir) {
  const fs::path file = dir / "model.safetensors";
  if (!fs::exists(file))
    throw std::runtime_error("no model.safetensors in " + dir.string() +
                             " (only the safetensors format is read; convert pytorch_model.bin "
                             "with Hugging Face's save_pretrained(safe_serialization=True))");
  return read_safetensors(file);
}

void load_weights(Gpt2& model, const std::map<std::string, at::Tensor>& stored,
                  const fs::path& file) {
  torch::NoGradGuard no_grad;
  std::set<std::string> loaded;
  auto params = model->named_parameters(true);
  for (auto& [raw_name, tensor] : stored) {
    std::string name = raw_name;
    if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    if (name == "lm_head.weight" || ends_with(name, ".attn.bias") ||
        ends_with(name, ".attn.masked_bias"))
      continue;  // the tied output layer and the causal-mask buffers
    auto* target = params.find(name);
    if (target == nullptr)
      throw std::runtime_error(file.string() + ": unexpected tensor '" + raw_name +
                               "' (not a GPT-2 parameter)");
    auto value = tensor.to(torch::kFloat32);
    if (is_conv1d_weight(name) && value.dim() == 2) value = value.t();
    if (value.sizes() != target->sizes()) {
      std::ostringstream why;
      why << file.string() << ": tensor '" << raw_name << "' has shape " << tensor.sizes()
          << ", the configuration needs "
          << (is_conv1d_weight(name) ? target->t().sizes() : target->sizes());
      throw std::runtime_error(why.str());
    }
    target->copy_(value);
    loaded.insert(name);
  }
  for (const auto& item : params)
    if (!loaded.count(item.key()))
      throw std::runtime_error(file.string() + ": tensor '" + item.key() + "' is missing");
}

}  // namespace

void load_weights(Gpt2& model, const fs::path& dir) {
  load_weights(model, read_stored_weights(dir), dir / "model.safetensors");
}

namespace {

// The configuration against the stored tensors, before the model is built: the embeddings' shapes
// and the number of blocks must match, so a config.json claiming 10^9 layers or a huge vocabulary
// is one sentence instead of an allocation that never ends.
void check_config_against_weights(const Gpt2Config& c, const fs::path& dir,
                                  const std::map<std::string, at::Tensor>& stored) {
  const fs::path file = dir / "model.safetensors";
  const auto expect = [&](const std::string& name, const std::vector<std::int64_t>& want) {
    for (const std::string prefix : {"", "transformer."}) {
      const auto it = stored.find(prefix + name);
      if (it == stored.end() || it->second.sizes().vec() == want) continue;
      std::ostringstream why;
      why << file.string() << ": tensor '" << it->first << "' has shape " << it->second.sizes()
          << ", the configuration needs " << c10::IntArrayRef(want) << " ("
          << (dir / "config.json").string() << ": vocab_size " << c.vocab << ", n_positions "
          << c.context << ", n_embd " << c.width << ")";
      throw std::runtime_error(why.str());
    }
  };
  expect("wte.weight", {c.vocab, c.width});
  expect("wpe.weight", {c.context, c.width});
  std::set<std::int64_t> blocks;
  for (const auto& [raw, tensor] : stored) {
    std::string name = raw.rfind("transformer.", 0) == 0 ? raw.substr(12) : raw;
    if (name.rfind("h.", 0) != 0) continue;
    const auto dot = name.find('.', 2);
    std::int64_t index = -1;
    if (dot != std::string::npos && !panoramia::detail::parse_int(name.substr(2, dot - 2), index))
      index = -1;
    if (index >= 0) blocks.insert(index);
  }
  if (!blocks.empty() && static_cast<std::int64_t>(blocks.size()) != c.layers)
    throw std::runtime_error((dir / "config.json").string() +
                             " declares n_layer = " + std::to_string(c.layers) + " but " +
                             file.string() + " holds " + std::to_string(blocks.size()) + " blocks");
}

}  // namespace

Gpt2 load_pretrained(const fs::path& dir, c10::Device device) {
  const Gpt2Config config = read_config(dir);
  const auto stored = read_stored_weights(dir);
  check_config_against_weights(config, dir, stored);
  Gpt2 model(config);
  load_weights(model, stored, dir / "model.safetensors");
  model->to(device);
  return model;
}

void save_pretrained(const Gpt2& model, const fs::path& dir) {
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  for (const auto& item : model->named_parameters(true))
    parameters.emplace_back(item.key(), item.value());
  save_pretrained(model->config(), parameters, dir);
}

void save_pretrained(const Gpt2Config& c,
                     const std::vector<std::pair<std::string, at::Tensor>>& parameters,
                     const fs::path& dir) {
  nlohmann::ordered_json j = {{"architectures", {"GPT2LMHeadModel"}},
                              {"model_type", "gpt2"},
                              {"activation_function", "gelu_new"},
                              {"n_layer", c.layers},
                              {"n_head", c.heads},
                              {"n_embd", c.width},
                              {"n_positions", c.context},
                              {"n_ctx", c.context},
                              {"vocab_size", c.vocab},
                              {"layer_norm_epsilon", c.layer_norm_eps},
                              {"resid_pdrop", c.dropout},
                              {"embd_pdrop", c.dropout},
                              {"attn_pdrop", c.dropout},
                              {"initializer_range", 0.02},
                              {"tie_word_embeddings", true}};
  {
    std::ofstream out(dir / "config.json");
    out << j.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + (dir / "config.json").string());
  }
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, value] : parameters) {
    auto t = value.detach().to(torch::kCPU, torch::kFloat32);
    if (is_conv1d_weight(name)) t = t.t().contiguous();
    tensors.emplace_back(name, t);
  }
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
}

}  // namespace panoramia::gpt2
