#include "table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <torch/torch.h>

namespace panoramia::csv {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

int find_column(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::string at_line(const TableOptions& o, std::int64_t line) {
  return o.source + " line " + std::to_string(line) + ": ";
}

std::vector<std::string> column_names(const std::vector<CsvRecord>& records,
                                      const TableOptions& o) {
  std::vector<std::string> names = o.columns;
  if (o.header) {
    if (records.empty()) throw std::runtime_error(o.source + " is empty (no header line)");
    const auto& header = records.front();
    if (names.empty()) {
      names = header.fields;
    } else if (names.size() != header.fields.size()) {
      throw std::runtime_error(at_line(o, header.line) + "the header has " +
                               std::to_string(header.fields.size()) + " fields but " +
                               std::to_string(names.size()) + " column names were given");
    }
  } else if (names.empty()) {
    if (records.empty()) throw std::runtime_error(o.source + " holds no records");
    for (size_t i = 0; i < records.front().fields.size(); ++i)
      names.push_back("column" + std::to_string(i + 1));
  }
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (n.empty()) throw std::runtime_error(o.source + ": a column has an empty name");
    if (!seen.insert(n).second)
      throw std::runtime_error(o.source + ": column name '" + n + "' appears twice");
  }
  return names;
}

void check_declared(const std::vector<std::string>& names, const std::vector<std::string>& declared,
                    const std::string& what, const TableOptions& o) {
  for (const auto& d : declared)
    if (find_column(names, d) < 0)
      throw std::runtime_error("option '" + what + "' names column '" + d + "', which " + o.source +
                               " does not have (columns: " + join(names) + ")");
}

// Categories in code order: numerically when every category is a number, otherwise by text.
std::vector<std::string> sorted_categories(const std::set<std::string>& values) {
  std::vector<std::string> out(values.begin(), values.end());
  std::vector<std::pair<double, std::string>> numeric;
  for (const auto& v : out) {
    double d = 0;
    if (!parse_number(v, d)) return out;
    numeric.emplace_back(d, v);
  }
  std::sort(numeric.begin(), numeric.end());
  for (size_t i = 0; i < out.size(); ++i) out[i] = numeric[i].second;
  return out;
}

// The checks of the declared columns, the label and a given schema against the file's columns;
// returns the label column (-1: none).
int resolve_label(const std::vector<std::string>& names, const TableOptions& o) {
  check_declared(names, o.continuous, "continuous", o);
  check_declared(names, o.categorical, "categorical", o);
  for (const auto& c : o.continuous)
    if (std::find(o.categorical.begin(), o.categorical.end(), c) != o.categorical.end())
      throw std::runtime_error("column '" + c + "' is declared both continuous and categorical");
  int label = -1;
  if (!o.label.empty()) {
    label = find_column(names, o.label);
    if (label < 0)
      throw std::runtime_error("option 'label' names column '" + o.label + "', which " + o.source +
                               " does not have (columns: " + join(names) + ")");
    if (std::find(o.continuous.begin(), o.continuous.end(), o.label) != o.continuous.end())
      throw std::runtime_error("the label column '" + o.label + "' cannot be continuous");
  }
  if (!o.schema) return label;
  std::vector<std::string> expected;
  for (const auto& c : o.schema->columns) expected.push_back(c.name);
  if (expected != names)
    throw std::runtime_error(o.source + " has columns (" + join(names) + ") but the schema " +
                             o.schema_source + " has (" + join(expected) + ")");
  if (!o.label.empty() && o.schema->label != label)
    throw std::runtime_error("option 'label' = '" + o.label + "' differs from the label of " +
                             o.schema_source);
  return o.schema->label;
}

// The data records (after the header) with their shape checked, and which of their cells are
// missing (empty, or the missing-value token).
struct DataRows {
  std::vector<const CsvRecord*> records;
  std::vector<std::vector<char>> missing;
};

DataRows data_rows(const std::vector<CsvRecord>& records, std::size_t ncols,
                   const TableOptions& o) {
  DataRows rows;
  for (std::size_t r = o.header ? 1 : 0; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() != ncols)
      throw std::runtime_error(at_line(o, rec.line) + "expected " + std::to_string(ncols) +
                               " fields, found " + std::to_string(rec.fields.size()));
    std::vector<char> missing(ncols, 0);
    for (std::size_t c = 0; c < ncols; ++c) {
      const auto& f = rec.fields[c];
      missing[c] = f.empty() || (!o.missing_token.empty() && f == o.missing_token);
    }
    rows.records.push_back(&rec);
    rows.missing.push_back(std::move(missing));
  }
  return rows;
}

// Each column's kind: the schema's; categorical for the label and declared ones; continuous for
// declared ones; otherwise continuous when every present value is a number.
std::vector<ColumnKind> column_kinds(const DataRows& rows, const std::vector<std::string>& names,
                                     int label, const TableOptions& o) {
  std::vector<ColumnKind> kinds(names.size(), ColumnKind::kContinuous);
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto& name = names[c];
    if (o.schema) {
      kinds[c] = o.schema->columns[c].kind;
    } else if (static_cast<int>(c) == label ||
               std::find(o.categorical.begin(), o.categorical.end(), name) != o.categorical.end()) {
      kinds[c] = ColumnKind::kCategorical;
    } else if (std::find(o.continuous.begin(), o.continuous.end(), name) == o.continuous.end()) {
      double d = 0;
      for (std::size_t r = 0; r < rows.records.size() && kinds[c] == ColumnKind::kContinuous; ++r)
        if (!rows.missing[r][c] && !parse_number(rows.records[r]->fields[c], d))
          kinds[c] = ColumnKind::kCategorical;
    }
  }
  return kinds;
}

// The values of the continuous columns (an error names the first bad line); empty for the others.
std::vector<std::vector<double>> continuous_values(const DataRows& rows,
                                                   const std::vector<std::string>& names,
                                                   const std::vector<ColumnKind>& kinds,
                                                   const TableOptions& o) {
  std::vector<std::vector<double>> numbers(names.size());
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (kinds[c] != ColumnKind::kContinuous) continue;
    numbers[c].assign(rows.records.size(), 0.0);
    for (std::size_t r = 0; r < rows.records.size(); ++r) {
      const auto& rec = *rows.records[r];
      if (!rows.missing[r][c] && !parse_number(rec.fields[c], numbers[c][r]))
        throw std::runtime_error(at_line(o, rec.line) + "column '" + names[c] +
                                 "' is continuous but '" + rec.fields[c] + "' is not a number");
    }
  }
  return numbers;
}

// Rows kept: a missing label always drops the row; other missing cells drop it under kDrop.
std::vector<std::size_t> kept_rows(const DataRows& rows, int label, const TableOptions& o) {
  std::vector<std::size_t> kept;
  for (std::size_t r = 0; r < rows.missing.size(); ++r) {
    const auto& missing = rows.missing[r];
    bool drop = label >= 0 && missing[label];
    if (o.missing == MissingPolicy::kDrop)
      drop = drop || std::any_of(missing.begin(), missing.end(), [](char m) { return m; });
    if (!drop) kept.push_back(r);
  }
  if (kept.empty()) throw std::runtime_error(o.source + " has no complete data rows");
  return kept;
}

// The schema: names, kinds, and the categories of categorical columns (the given schema's, or the
// values of the kept rows in code order).
std::shared_ptr<TabularSchema> table_schema(const DataRows& rows,
                                            const std::vector<std::string>& names,
                                            const std::vector<ColumnKind>& kinds, int label,
                                            const std::vector<std::size_t>& kept,
                                            const TableOptions& o) {
  auto schema = std::make_shared<TabularSchema>();
  schema->label = label;
  for (std::size_t c = 0; c < names.size(); ++c) {
    Column col{names[c], kinds[c], {}};
    if (kinds[c] == ColumnKind::kCategorical) {
      if (o.schema) {
        col.categories = o.schema->columns[c].categories;
      } else {
        std::set<std::string> values;
        for (const std::size_t r : kept)
          if (!rows.missing[r][c]) values.insert(rows.records[r]->fields[c]);
        col.categories = sorted_categories(values);
      }
      if (col.categories.empty())
        throw std::runtime_error(o.source + ": column '" + names[c] + "' has no values");
    }
    schema->columns.push_back(std::move(col));
  }
  return schema;
}

// Fills column c of `x` with the kept rows' values, a missing one imputed by the column's median;
// returns how many were imputed.
std::int64_t fill_continuous(at::TensorAccessor<double, 2>& x, std::size_t c,
                             const std::vector<double>& values, const DataRows& rows,
                             const std::vector<std::size_t>& kept, const std::string& name,
                             const TableOptions& o) {
  std::vector<double> present;
  for (const std::size_t r : kept)
    if (!rows.missing[r][c]) present.push_back(values[r]);
  if (present.empty()) throw std::runtime_error(o.source + ": column '" + name + "' has no values");
  std::nth_element(present.begin(), present.begin() + present.size() / 2, present.end());
  const double median = present[present.size() / 2];
  std::int64_t imputed = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const bool m = rows.missing[kept[i]][c];
    imputed += m;
    x[i][c] = m ? median : values[kept[i]];
  }
  return imputed;
}

// Fills column c of `x` with the kept rows' category codes, a missing one imputed by the most
// frequent category; returns how many were imputed.
std::int64_t fill_categorical(at::TensorAccessor<double, 2>& x, std::size_t c, const Column& col,
                              const DataRows& rows, const std::vector<std::size_t>& kept,
                              const TableOptions& o) {
  std::unordered_map<std::string, std::int64_t> code;
  for (std::size_t k = 0; k < col.categories.size(); ++k) code[col.categories[k]] = k;
  std::vector<std::int64_t> counts(col.categories.size(), 0);
  std::vector<std::int64_t> codes(kept.size(), -1);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (rows.missing[kept[i]][c]) continue;
    const auto& rec = *rows.records[kept[i]];
    const auto it = code.find(rec.fields[c]);
    if (it == code.end())
      throw std::runtime_error(at_line(o, rec.line) + "column '" + col.name + "' has category '" +
                               rec.fields[c] + "', which the schema " + o.schema_source +
                               " does not know");
    codes[i] = it->second;
    ++counts[it->second];
  }
  const std::int64_t mode = std::max_element(counts.begin(), counts.end()) - counts.begin();
  std::int64_t imputed = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    imputed += codes[i] < 0;
    x[i][c] = static_cast<double>(codes[i] < 0 ? mode : codes[i]);
  }
  return imputed;
}

}  // namespace

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  const char* begin = text.c_str();
  char* end = nullptr;
  out = std::strtod(begin, &end);  // overflow gives an infinity, refused below
  return end == begin + text.size() && std::isfinite(out);
}

Batch build_table(const std::vector<CsvRecord>& records, const TableOptions& o,
                  TableReport* report) {
  const std::vector<std::string> names = column_names(records, o);
  const int label = resolve_label(names, o);
  const DataRows rows = data_rows(records, names.size(), o);
  const auto kinds = column_kinds(rows, names, label, o);
  const auto numbers = continuous_values(rows, names, kinds, o);
  const auto kept = kept_rows(rows, label, o);
  const auto schema = table_schema(rows, names, kinds, label, kept, o);

  auto x = torch::empty(
      {static_cast<std::int64_t>(kept.size()), static_cast<std::int64_t>(names.size())},
      torch::kFloat64);
  auto xa = x.accessor<double, 2>();
  std::int64_t imputed = 0;
  for (std::size_t c = 0; c < names.size(); ++c)
    imputed += schema->columns[c].kind == ColumnKind::kContinuous
                   ? fill_continuous(xa, c, numbers[c], rows, kept, names[c], o)
                   : fill_categorical(xa, c, schema->columns[c], rows, kept, o);

  Batch batch;
  batch.x = x;
  if (label >= 0) batch.y = x.select(1, label).to(torch::kInt64).contiguous();
  batch.modality = "tabular";
  batch.schema = schema;
  if (report) {
    report->rows_read = static_cast<std::int64_t>(rows.records.size());
    report->rows_dropped = report->rows_read - static_cast<std::int64_t>(kept.size());
    report->values_imputed = imputed;
  }
  return batch;
}

Batch read_table(const std::string& path, TableOptions options, TableReport* report) {
  if (options.source.empty()) options.source = path;
  const std::string text = read_file(path);
  return build_table(parse_csv(text, options.format, options.source), options, report);
}

}  // namespace panoramia::csv
