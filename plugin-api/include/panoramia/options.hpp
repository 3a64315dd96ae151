#pragma once
/// Plugin options: what a plugin declares, and the typed values the host hands it.
///
/// A plugin lists its options as `OptionSpec`s. The host validates every config key against that
/// list (unknown key, wrong type, missing required value: an error naming the file and the key)
/// before the plugin sees anything, so the getters of `OptionValues` only throw on a programming
/// error (asking for an option the plugin never declared, or with the wrong type).

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/config.hpp>

namespace panoramia {

enum class OptionType { kInt, kDouble, kBool, kString, kIntList, kDoubleList, kPath };

/// Name of a type as shown to users ("integer", "number", ...).
inline const char* option_type_name(OptionType type) {
  switch (type) {
    case OptionType::kInt:
      return "integer";
    case OptionType::kDouble:
      return "number";
    case OptionType::kBool:
      return "boolean (true/false)";
    case OptionType::kString:
      return "string";
    case OptionType::kIntList:
      return "comma-separated list of integers";
    case OptionType::kDoubleList:
      return "comma-separated list of numbers";
    case OptionType::kPath:
      return "path";
  }
  return "unknown";
}

/// The values a numeric option accepts: `low` to `high`, each end included unless it is open.
/// NaN is never inside; use an infinite end for a one-sided range.
struct OptionRange {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_open = false;
  bool high_open = false;

  bool contains(double value) const {
    if (std::isnan(value)) return false;
    if (low_open ? !(value > low) : !(value >= low)) return false;
    return high_open ? value < high : value <= high;
  }
  /// "[0, 1]", "(0, 1)", ">= 1", "> 0", "<= 10".
  std::string describe() const {
    const auto number = [](double v) {
      std::ostringstream out;
      out << v;
      return out.str();
    };
    if (std::isinf(high)) return (low_open ? "> " : ">= ") + number(low);
    if (std::isinf(low)) return (high_open ? "< " : "<= ") + number(high);
    return std::string(low_open ? "(" : "[") + number(low) + ", " + number(high) +
           (high_open ? ")" : "]");
  }
};

/// One option a plugin accepts. `default_value` is the text form ("" and `required` for none).
/// `choices`, when not empty, lists the only accepted values of a string option; `range`, when
/// set, the values of a numeric option (every item of a list). The host refuses a config value
/// outside them before the first stage, naming the key and what it expects, so a plugin never
/// sees, say, a batch size of 0 or a dropout of 2.
struct OptionSpec {
  std::string name;
  OptionType type = OptionType::kString;
  std::string default_value;
  std::string help;
  bool required = false;
  std::vector<std::string> choices;
  std::optional<OptionRange> range;

  /// Builders for the range: `option("lr", ...).above(0)`, `.at_least(1)`, `.within(0, 1)`.
  OptionSpec& at_least(double low) { return set_range({low, kInf, false, false}); }
  OptionSpec& above(double low) { return set_range({low, kInf, true, false}); }
  OptionSpec& within(double low, double high) { return set_range({low, high, false, false}); }
  /// [low, high): e.g. a dropout probability or a held-out fraction.
  OptionSpec& within_below(double low, double high) { return set_range({low, high, false, true}); }
  /// (low, high): e.g. a confidence.
  OptionSpec& between(double low, double high) { return set_range({low, high, true, true}); }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  OptionSpec& set_range(OptionRange r) {
    range = r;
    return *this;
  }
};

/// An option with its name, type, default and help text; chain a range builder where it applies.
inline OptionSpec option(std::string name, OptionType type, std::string default_value,
                         std::string help, std::vector<std::string> choices = {}) {
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.help = std::move(help);
  spec.choices = std::move(choices);
  return spec;
}

namespace detail {

inline std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  if (trim(text).empty()) return out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) out.push_back(trim(item));
  return out;
}

/// Parses `text` as `type`; returns false (and leaves `why` set) when it does not parse.
inline bool parse_int(const std::string& text, std::int64_t& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoll(t, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == t.size();
}

inline bool parse_double(const std::string& text, double& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stod(t, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == t.size();
}

inline bool parse_bool(const std::string& text, bool& out) {
  const std::string t = trim(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on") {
    out = true;
    return true;
  }
  if (t == "false" || t == "0" || t == "no" || t == "off") {
    out = false;
    return true;
  }
  return false;
}

}  // namespace detail

/// True when `text` is a valid value of `spec` (type, choices and range).
inline bool option_value_valid(const OptionSpec& spec, const std::string& text) {
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  const auto in_range = [&spec](double value) {
    return !spec.range || spec.range->contains(value);
  };
  switch (spec.type) {
    case OptionType::kInt:
      return detail::parse_int(text, i) && in_range(static_cast<double>(i));
    case OptionType::kDouble:
      return detail::parse_double(text, d) && in_range(d);
    case OptionType::kBool:
      return detail::parse_bool(text, b);
    case OptionType::kIntList:
      for (const auto& item : detail::split_list(text))
        if (!detail::parse_int(item, i) || !in_range(static_cast<double>(i))) return false;
      return true;
    case OptionType::kDoubleList:
      for (const auto& item : detail::split_list(text))
        if (!detail::parse_double(item, d) || !in_range(d)) return false;
      return true;
    case OptionType::kString:
      if (spec.choices.empty()) return true;
      for (const auto& c : spec.choices)
        if (c == detail::trim(text)) return true;
      return false;
    case OptionType::kPath:
      return true;
  }
  return false;
}

/// The validated option values of one plugin instance: every declared option has a value (the
/// config's or the default), so a getter never falls back silently. Getters throw
/// `std::invalid_argument` for an undeclared name or a type mismatch, which is a bug in the plugin.
class BOOST_SYMBOL_VISIBLE OptionValues {
 public:
  OptionValues() = default;
  OptionValues(std::vector<OptionSpec> specs, std::map<std::string, std::string> values)
      : specs_(std::move(specs)), values_(std::move(values)) {}

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  /// True when the option has a non-empty value.
  bool is_set(const std::string& name) const {
    return has(name) && !detail::trim(raw(name)).empty();
  }

  const std::string& raw(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::invalid_argument("option '" + name + "' was not declared");
    return it->second;
  }

  std::int64_t get_int(const std::string& name) const {
    std::int64_t v = 0;
    if (!detail::parse_int(raw(name), v)) fail(name, OptionType::kInt);
    return v;
  }
  double get_double(const std::string& name) const {
    double v = 0;
    if (!detail::parse_double(raw(name), v)) fail(name, OptionType::kDouble);
    return v;
  }
  bool get_bool(const std::string& name) const {
    bool v = false;
    if (!detail::parse_bool(raw(name), v)) fail(name, OptionType::kBool);
    return v;
  }
  std::string get_string(const std::string& name) const { return detail::trim(raw(name)); }
  /// The comma-separated items of a string or path option, each trimmed (empty items kept, so
  /// that "a,,b" can be refused by the plugin); no items for an empty value.
  std::vector<std::string> get_string_list(const std::string& name) const {
    return detail::split_list(raw(name));
  }
  std::vector<std::int64_t> get_int_list(const std::string& name) const {
    std::vector<std::int64_t> out;
    for (const auto& item : detail::split_list(raw(name))) {
      std::int64_t v = 0;
      if (!detail::parse_int(item, v)) fail(name, OptionType::kIntList);
      out.push_back(v);
    }
    return out;
  }
  std::vector<double> get_double_list(const std::string& name) const {
    std::vector<double> out;
    for (const auto& item : detail::split_list(raw(name))) {
      double v = 0;
      if (!detail::parse_double(item, v)) fail(name, OptionType::kDoubleList);
      out.push_back(v);
    }
    return out;
  }

  const std::map<std::string, std::string>& values() const { return values_; }
  const std::vector<OptionSpec>& specs() const { return specs_; }

 private:
  [[noreturn]] void fail(const std::string& name, OptionType type) const {
    throw std::invalid_argument("option '" + name + "' = '" + raw(name) + "' is not a " +
                                option_type_name(type));
  }

  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;
};

}  // namespace panoramia
