#include "safetensors.hpp"

#include <fstream>
#include <stdexcept>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

namespace panoramia::gpt2 {
namespace {

namespace fs = std::filesystem;

// Safetensors stores little-endian bytes; this reader copies them as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little endian");

constexpr std::uint64_t kMaxHeader = 100'000'000;  // the format's own limit

const std::vector<std::pair<std::string, torch::Dtype>>& dtypes() {
  static const std::vector<std::pair<std::string, torch::Dtype>> table = {
      {"F64", torch::kFloat64},   {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I16", torch::kInt16},     {"I8", torch::kInt8},     {"U8", torch::kUInt8},
      {"BOOL", torch::kBool}};
  return table;
}

}  // namespace

std::map<std::string, at::Tensor> read_safetensors(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open the safetensors file " + file.string());
  const auto file_size = static_cast<std::uint64_t>(fs::file_size(file));
  const std::string where = "the safetensors file " + file.string();
  unsigned char length_bytes[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(length_bytes), 8))
    throw std::runtime_error(where + " is shorter than its 8-byte header length");
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  if (header_length > kMaxHeader || header_length > file_size - 8)
    throw std::runtime_error(where + " declares a header of " + std::to_string(header_length) +
                             " bytes but has " + std::to_string(file_size - 8) + " after byte 8");
  std::string header_text(header_length, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_length));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(where + " has a header that is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw std::runtime_error(where + " has a header that is not an object");
  const std::uint64_t data_start = 8 + header_length;
  const std::uint64_t data_size = file_size - data_start;

  std::map<std::string, at::Tensor> out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string tensor = where + ", tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      throw std::runtime_error(tensor + " lacks dtype, shape or data_offsets");
    torch::Dtype dtype = torch::kFloat32;
    bool known = false;
    const auto dtype_name = entry["dtype"].is_string() ? entry["dtype"].get<std::string>() : "";
    for (const auto& [n, t] : dtypes())
      if (n == dtype_name) dtype = t, known = true;
    if (!known)
      throw std::runtime_error(tensor + " has the unsupported dtype '" + dtype_name + "'");
    std::vector<std::int64_t> shape;
    std::uint64_t numel = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw std::runtime_error(tensor + " has a malformed shape");
      shape.push_back(d.get<std::int64_t>());
      numel *= d.get<std::uint64_t>();
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw std::runtime_error(tensor + " has malformed data_offsets");
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    const std::uint64_t bytes = numel * torch::elementSize(dtype);
    if (begin > end || end > data_size)
      throw std::runtime_error(tensor + " has data_offsets [" + std::to_string(begin) + ", " +
                               std::to_string(end) + "] outside the " + std::to_string(data_size) +
                               " data bytes");
    if (end - begin != bytes)
      throw std::runtime_error(tensor + " spans " + std::to_string(end - begin) +
                               " bytes but its shape and dtype need " + std::to_string(bytes));
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    in.seekg(static_cast<std::streamoff>(data_start + begin));
    if (bytes > 0 &&
        !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes)))
      throw std::runtime_error(tensor + " could not be read at byte " +
                               std::to_string(data_start + begin));
    out.emplace(name, std::move(t));
  }
  return out;
}

void write_safetensors(const fs::path& file,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    std::string dtype_name;
    for (const auto& [n, d] : dtypes())
      if (d == t.scalar_type()) dtype_name = n;
    if (dtype_name.empty())
      throw std::invalid_argument("cannot write tensor '" + name + "' of type " +
                                  std::string(c10::toString(t.scalar_type())) + " to " +
                                  file.string());
    const std::uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the format advises
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write the safetensors file " + file.string());
  unsigned char length_bytes[8];
  std::uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(length >> (8 * i));
  out.write(reinterpret_cast<const char*>(length_bytes), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : data)
    out.write(static_cast<const char*>(t.data_ptr()),
              static_cast<std::streamsize>(t.numel() * t.element_size()));
  if (!out) throw std::runtime_error("writing the safetensors file " + file.string() + " failed");
}

}  // namespace panoramia::gpt2
