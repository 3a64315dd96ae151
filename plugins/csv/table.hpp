#pragma once
// From CSV records to a tabular Batch: column names (header or given), column kinds (declared,
// inferred or from a fixed schema), missing values (drop the row or impute), category codes.
// Every data error names the file and the line.

#include <memory>
#include <string>
#include <vector>

#include <panoramia/data.hpp>

#include "csv_parser.hpp"

namespace panoramia::csv {

enum class MissingPolicy { kDrop, kImpute };

struct TableOptions {
  /// Names the input in error messages (the file path).
  std::string source;
  CsvFormat format;
  /// The first record holds the column names.
  bool header = true;
  /// Column names: required without a header; with one, they replace its names.
  std::vector<std::string> columns;
  /// A field equal to this token (after trimming) is missing; empty fields are always missing.
  std::string missing_token;
  MissingPolicy missing = MissingPolicy::kDrop;
  /// Declared kinds; other columns are continuous when every present value is a number.
  std::vector<std::string> continuous;
  std::vector<std::string> categorical;
  /// The label column (always categorical); empty for none.
  std::string label;
  /// A fixed schema (names, kinds, categories): a category it does not know is an error.
  std::shared_ptr<const TabularSchema> schema;
  std::string schema_source;
};

struct TableReport {
  std::int64_t rows_read = 0;
  std::int64_t rows_dropped = 0;
  std::int64_t values_imputed = 0;
};

/// Builds the batch (modality "tabular"): x float64 [n, columns] with raw continuous values and
/// category codes, y int64 label codes (undefined without a label), and the schema.
Batch build_table(const std::vector<CsvRecord>& records, const TableOptions& options,
                  TableReport* report = nullptr);

/// Reads and parses `path`, then `build_table`.
Batch read_table(const std::string& path, TableOptions options, TableReport* report = nullptr);

/// Parses a number the way the reader does (the whole field, finite); false otherwise.
bool parse_number(const std::string& text, double& out);

}  // namespace panoramia::csv
