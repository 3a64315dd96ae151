#include "schema_io.hpp"

#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace panoramia::csv {

std::string schema_to_json(const TabularSchema& schema) {
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& c : schema.columns) {
    nlohmann::json col;
    col["name"] = c.name;
    col["kind"] = c.kind == ColumnKind::kContinuous ? "continuous" : "categorical";
    if (c.kind == ColumnKind::kCategorical) col["categories"] = c.categories;
    columns.push_back(col);
  }
  nlohmann::json out;
  out["columns"] = columns;
  out["label"] = schema.label >= 0 ? nlohmann::json(schema.columns[schema.label].name)
                                   : nlohmann::json(nullptr);
  return out.dump(2) + "\n";
}

TabularSchema schema_from_json(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(source + " is not valid JSON: " + e.what());
  }
  TabularSchema schema;
  try {
    std::set<std::string> seen;
    for (const auto& col : j.at("columns")) {
      Column c;
      c.name = col.at("name").get<std::string>();
      const auto kind = col.at("kind").get<std::string>();
      if (kind != "continuous" && kind != "categorical")
        throw std::runtime_error("column '" + c.name + "' has unknown kind '" + kind + "'");
      c.kind = kind == "continuous" ? ColumnKind::kContinuous : ColumnKind::kCategorical;
      if (c.kind == ColumnKind::kCategorical)
        c.categories = col.at("categories").get<std::vector<std::string>>();
      if (!seen.insert(c.name).second)
        throw std::runtime_error("column '" + c.name + "' appears twice");
      schema.columns.push_back(std::move(c));
    }
    if (j.contains("label") && !j.at("label").is_null()) {
      const auto label = j.at("label").get<std::string>();
      for (size_t i = 0; i < schema.columns.size(); ++i)
        if (schema.columns[i].name == label) schema.label = static_cast<int>(i);
      if (schema.label < 0) throw std::runtime_error("the label '" + label + "' is not a column");
      if (schema.columns[schema.label].kind != ColumnKind::kCategorical)
        throw std::runtime_error("the label '" + label + "' is not categorical");
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(source + " is not a tabular schema: " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(source + " is not a valid tabular schema: " + e.what());
  }
  return schema;
}

}  // namespace panoramia::csv
