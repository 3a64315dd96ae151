#include "batch_io.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <panoramia/archive.hpp>

#include "hashing.hpp"

namespace panoramia {
namespace {

void write_optional(torch::serialize::OutputArchive& a, const std::string& key,
                    const at::Tensor& t) {
  if (t.defined()) a.write(key, t.contiguous());
}

at::Tensor read_optional(torch::serialize::InputArchive& a, const std::string& key) {
  at::Tensor t;
  return a.try_read(key, t) ? t : at::Tensor();
}

}  // namespace

std::string schema_to_json(const TabularSchema& schema) {
  nlohmann::json j;
  j["label"] = schema.label;
  for (const auto& c : schema.columns) {
    j["columns"].push_back(
        {{"name", c.name},
         {"kind", c.kind == ColumnKind::kContinuous ? "continuous" : "categorical"},
         {"categories", c.categories}});
  }
  return j.dump();
}

TabularSchema schema_from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  TabularSchema s;
  s.label = j.at("label").get<int>();
  for (const auto& c : j.at("columns")) {
    Column col;
    col.name = c.at("name").get<std::string>();
    col.kind = c.at("kind").get<std::string>() == "continuous" ? ColumnKind::kContinuous
                                                               : ColumnKind::kCategorical;
    col.categories = c.at("categories").get<std::vector<std::string>>();
    s.columns.push_back(std::move(col));
  }
  return s;
}

void save_batch(const Batch& batch, const std::filesystem::path& file) {
  torch::serialize::OutputArchive a;
  write_optional(a, "x", batch.x);
  write_optional(a, "y", batch.y);
  save_archive(a, file);
  std::ofstream meta(file.string() + ".json");
  nlohmann::json j;
  j["modality"] = batch.modality;
  if (batch.schema) j["schema"] = nlohmann::json::parse(schema_to_json(*batch.schema));
  meta << j.dump();
  meta.close();
  if (!meta)
    throw std::runtime_error("cannot write " + file.string() + ".json: " + std::strerror(errno));
}

Batch load_batch(const std::filesystem::path& file) {
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  Batch b;
  b.x = read_optional(a, "x");
  b.y = read_optional(a, "y");
  std::ifstream meta(file.string() + ".json");
  if (!meta) throw std::runtime_error("cannot read " + file.string() + ".json");
  const auto j = nlohmann::json::parse(meta);
  b.modality = j.at("modality").get<std::string>();
  if (j.contains("schema"))
    b.schema = std::make_shared<TabularSchema>(schema_from_json(j.at("schema").dump()));
  return b;
}

void save_signals(const SideSignals& s, const std::filesystem::path& file) {
  torch::serialize::OutputArchive a;
  write_optional(a, "loss", s.loss);
  write_optional(a, "loss_vector", s.loss_vector);
  write_optional(a, "logits", s.logits);
  save_archive(a, file);
}

SideSignals load_signals(const std::filesystem::path& file) {
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  SideSignals s;
  s.loss = read_optional(a, "loss");
  s.loss_vector = read_optional(a, "loss_vector");
  s.logits = read_optional(a, "logits");
  return s;
}

void save_tensor(const at::Tensor& tensor, const std::filesystem::path& file) {
  torch::serialize::OutputArchive a;
  a.write("t", tensor.contiguous());
  save_archive(a, file);
}

at::Tensor load_tensor(const std::filesystem::path& file) {
  torch::serialize::InputArchive a;
  a.load_from(file.string());
  at::Tensor t;
  a.read("t", t);
  return t;
}

Batch select_rows(const Batch& batch, const at::Tensor& index) {
  Batch out;
  out.x = batch.x.index_select(0, index);
  if (batch.y.defined()) out.y = batch.y.index_select(0, index);
  out.modality = batch.modality;
  out.schema = batch.schema;
  return out;
}

SideSignals select_rows(const SideSignals& s, const at::Tensor& index) {
  SideSignals out;
  if (s.loss.defined()) out.loss = s.loss.index_select(0, index);
  if (s.loss_vector.defined()) out.loss_vector = s.loss_vector.index_select(0, index);
  if (s.logits.defined()) out.logits = s.logits.index_select(0, index);
  return out;
}

Batch concat(const Batch& a, const Batch& b) {
  if (a.modality != b.modality)
    throw std::invalid_argument("cannot mix " + a.modality + " and " + b.modality + " samples");
  Batch out;
  out.x = torch::cat({a.x, b.x.to(a.x.scalar_type())}, 0);
  if (a.y.defined() && b.y.defined()) out.y = torch::cat({a.y, b.y}, 0);
  out.modality = a.modality;
  out.schema = a.schema ? a.schema : b.schema;
  return out;
}

std::string fingerprint(const Batch& batch) {
  Hasher h;
  h.add(batch.modality);
  for (const auto* t : {&batch.x, &batch.y}) {
    if (!t->defined()) {
      h.add("undefined");
      continue;
    }
    const auto c = t->contiguous().cpu();
    h.add(std::string(c.dtype().name()));
    for (auto s : c.sizes()) h.add(static_cast<std::uint64_t>(s));
    h.add_bytes(c.data_ptr(), c.numel() * c.element_size());
  }
  if (batch.schema) h.add(schema_to_json(*batch.schema));
  return h.hex();
}

}  // namespace panoramia
