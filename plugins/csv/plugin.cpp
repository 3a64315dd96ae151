// Plugin `csv`: reads a CSV file (RFC 4180) into a tabular batch. See table.hpp for the rules; the
// schema it used is written to schema.json in the work directory, and `schema = FILE` reads data
// with a stored schema (a category it does not know is an error naming the line).
#include <fstream>

#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "closeness.hpp"
#include "schema_io.hpp"
#include "table.hpp"

namespace {

using panoramia::Batch;
using panoramia::Context;
using panoramia::OptionSpec;
using panoramia::OptionType;
namespace csv = panoramia::csv;

char delimiter_option(const std::string& text) {
  if (text == "tab" || text == "\\t") return '\t';
  if (text.size() != 1)
    throw std::invalid_argument("option 'delimiter' = '" + text +
                                "' must be one character (or 'tab')");
  return text[0];
}

class CsvReader final : public panoramia::DatasetReader {
 public:
  Batch read(Context& ctx) override {
    const auto& o = ctx.options();
    csv::TableOptions t;
    const std::string path = o.get_string("path");
    t.format.delimiter = delimiter_option(o.raw("delimiter").empty() ? "," : o.raw("delimiter"));
    t.format.trim = o.get_bool("trim");
    t.header = o.get_bool("header");
    t.columns = o.get_string_list("columns");
    t.missing_token = o.get_string("missing");
    t.missing = o.get_string("missing_policy") == "impute" ? csv::MissingPolicy::kImpute
                                                           : csv::MissingPolicy::kDrop;
    t.continuous = o.get_string_list("continuous");
    t.categorical = o.get_string_list("categorical");
    t.label = o.get_string("label");
    if (o.is_set("schema")) {
      t.schema_source = o.get_string("schema");
      t.schema = std::make_shared<panoramia::TabularSchema>(
          csv::schema_from_json(csv::read_file(t.schema_source), t.schema_source));
    }
    csv::TableReport report;
    Batch batch = csv::read_table(path, t, &report);
    const auto& schema = *batch.schema;
    int continuous = 0;
    for (const auto& c : schema.columns) continuous += c.kind == panoramia::ColumnKind::kContinuous;
    ctx.logger()->info(
        "csv: {} rows read from {}, {} dropped for missing values, {} values imputed; {} columns "
        "({} continuous, {} categorical){}",
        report.rows_read, path, report.rows_dropped, report.values_imputed, schema.columns.size(),
        continuous, schema.columns.size() - continuous,
        schema.label >= 0 ? ", label '" + schema.columns[schema.label].name + "'" : "");
    const auto schema_file = ctx.work_dir() / "schema.json";
    std::ofstream out(schema_file);
    out << csv::schema_to_json(schema);
    if (!out) throw std::runtime_error("cannot write " + schema_file.string());
    return batch;
  }

  panoramia::Preview preview(const Batch& samples, Context&) const override {
    return csv::table_preview(samples);
  }

  std::vector<panoramia::Closeness> closeness(const Batch& real, const Batch& synthetic,
                                              Context&) const override {
    return csv::column_closeness(real, synthetic);
  }
};

class Factory final : public panoramia::PluginFactory {
 public:
  std::vector<OptionSpec> options(panoramia::Kind) const override {
    using T = OptionType;
    auto path = option("path", T::kPath, "", "the CSV file");
    path.required = true;
    return {
        path,
        option("header", T::kBool, "true", "the first line holds the column names"),
        option("columns", T::kString, "",
               "comma-separated column names (required without a header; replaces the header's)"),
        option("delimiter", T::kString, ",", "field delimiter: one character, or 'tab'"),
        option("trim", T::kBool, "true", "strip spaces around fields"),
        option("missing", T::kString, "",
               "token marking a missing value (e.g. ?); empty fields are always missing"),
        option("missing_policy", T::kString, "drop",
               "rows with missing values: drop them, or impute (median / most frequent category)",
               {"drop", "impute"}),
        option("continuous", T::kString, "", "comma-separated columns declared continuous"),
        option("categorical", T::kString, "", "comma-separated columns declared categorical"),
        option("label", T::kString, "", "the label column (categorical; its codes are the labels)"),
        option("schema", T::kPath, "",
               "a schema.json from an earlier run: its kinds and categories are used, and an "
               "unknown category is an error")};
  }
  std::unique_ptr<panoramia::DatasetReader> make_dataset_reader(Context&) override {
    return std::make_unique<CsvReader>();
  }
};

}  // namespace

PANORAMIA_PLUGIN(Factory, "csv", "1.0.0", panoramia::kDatasetReader,
                 "CSV tables (RFC 4180): header or given columns, missing values, inferred or "
                 "declared column kinds, a label column.")
