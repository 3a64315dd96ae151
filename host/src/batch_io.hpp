#pragma once
// Saving and loading batches and side signals in the stage cache, and the data fingerprint.

#include <filesystem>
#include <string>

#include <panoramia/data.hpp>

namespace panoramia {

void save_batch(const Batch& batch, const std::filesystem::path& file);
Batch load_batch(const std::filesystem::path& file);

void save_signals(const SideSignals& signals, const std::filesystem::path& file);
SideSignals load_signals(const std::filesystem::path& file);

void save_tensor(const at::Tensor& tensor, const std::filesystem::path& file);
at::Tensor load_tensor(const std::filesystem::path& file);

/// Rows `index` (int64 [k]) of a batch.
Batch select_rows(const Batch& batch, const at::Tensor& index);
SideSignals select_rows(const SideSignals& signals, const at::Tensor& index);
/// Concatenates two batches of the same modality.
Batch concat(const Batch& a, const Batch& b);

/// A hash of the samples, labels, modality and schema (16 hex digits).
std::string fingerprint(const Batch& batch);

std::string schema_to_json(const TabularSchema& schema);
TabularSchema schema_from_json(const std::string& json);

}  // namespace panoramia
