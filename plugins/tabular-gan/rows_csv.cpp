#include "rows_csv.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <torch/torch.h>

#include "csv_parser.hpp"

namespace panoramia::tabular_gan {

void write_rows_csv(const std::filesystem::path& file, const TabularSchema& schema,
                    const torch::Tensor& rows) {
  std::ofstream out(file);
  if (!out) throw std::runtime_error("cannot write " + file.string());
  for (size_t c = 0; c < schema.columns.size(); ++c)
    out << (c ? "," : "") << csv::quote_field(schema.columns[c].name, ',');
  out << "\n";
  const auto r = rows.to(torch::kFloat64).contiguous();
  const auto a = r.accessor<double, 2>();
  char number[64];
  for (int64_t i = 0; i < r.size(0); ++i) {
    for (size_t c = 0; c < schema.columns.size(); ++c) {
      const auto& col = schema.columns[c];
      const double v = a[i][static_cast<int64_t>(c)];
      if (c) out << ',';
      if (col.kind == ColumnKind::kCategorical) {
        out << csv::quote_field(col.categories.at(static_cast<size_t>(v)), ',');
      } else if (v == std::round(v) && std::abs(v) < 1e15) {
        std::snprintf(number, sizeof number, "%.0f", v);
        out << number;
      } else {
        std::snprintf(number, sizeof number, "%.10g", v);
        out << number;
      }
    }
    out << "\n";
  }
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace panoramia::tabular_gan
