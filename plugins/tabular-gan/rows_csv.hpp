#pragma once
// Writes tabular rows (raw values and category codes) as a CSV file with a header, for inspection.

#include <filesystem>

#include <torch/types.h>

#include <panoramia/data.hpp>

namespace panoramia::tabular_gan {

/// Throws std::runtime_error naming the file when it cannot be written.
void write_rows_csv(const std::filesystem::path& file, const TabularSchema& schema,
                    const torch::Tensor& rows);

}  // namespace panoramia::tabular_gan
