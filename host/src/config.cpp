#include "config.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/program_options/parsers.hpp>

#include "plugin_error.hpp"
#include "plugin_registry.hpp"

namespace panoramia {
namespace po = boost::program_options;

namespace {

OptionSpec plugin_key(bool required) {
  OptionSpec s = option("plugin", OptionType::kString, "", "name of the plugin for this stage");
  s.required = required;
  return s;
}

// A share of the data: (0, 1], as the split has always accepted (1: all of it).
OptionSpec fraction(std::string name, std::string def, std::string help) {
  OptionSpec s = option(std::move(name), OptionType::kDouble, std::move(def), std::move(help));
  s.range = OptionRange{0, 1, /*low_open=*/true, /*high_open=*/false};
  return s;
}

std::string describe_origin(const ConfigValue& v, const std::string& section,
                            const std::string& k) {
  if (v.origin == "--set") return "--set " + section + "." + k;
  return v.origin + " [" + section + "] " + k;
}

std::string expected(const OptionSpec& spec) {
  std::string text = option_type_name(spec.type);
  if (spec.range) {
    const std::string range = spec.range->describe();
    text += (range[0] == '[' || range[0] == '(' ? " in " : " ") + range;
  }
  if (!spec.choices.empty()) {
    text = "one of";
    for (std::size_t i = 0; i < spec.choices.size(); ++i)
      text += (i ? ", " : " ") + spec.choices[i];
  }
  return text;
}

// Validates the keys of one section against `specs`; fills every declared key.
OptionValues validate_keys(const std::string& file, const std::string& section,
                           const std::vector<OptionSpec>& specs,
                           const std::map<std::string, ConfigValue>& given) {
  std::map<std::string, std::string> values;
  for (const auto& spec : specs) {
    auto it = given.find(spec.name);
    if (it == given.end()) {
      if (spec.required)
        throw UserError(file + ": [" + section + "] " + spec.name + " is required (" + spec.help +
                        "; expected " + expected(spec) + ")");
      values[spec.name] = spec.default_value;
      continue;
    }
    if (!option_value_valid(spec, it->second.value))
      throw UserError(describe_origin(it->second, section, spec.name) + " = '" + it->second.value +
                      "' is not valid: expected " + expected(spec));
    values[spec.name] = detail::trim(it->second.value);
  }
  return OptionValues(specs, std::move(values));
}

void check_unknown(const std::string& section, const std::map<std::string, ConfigValue>& given,
                   const std::vector<std::vector<OptionSpec>*>& spec_sets,
                   const std::string& owner) {
  std::vector<std::string> valid;
  for (const auto* set : spec_sets)
    for (const auto& s : *set) valid.push_back(s.name);
  for (const auto& [k, v] : given) {
    if (std::find(valid.begin(), valid.end(), k) != valid.end()) continue;
    std::string msg =
        describe_origin(v, section, k) + " is not a known key of [" + section + "]" + owner;
    const std::string guess = nearest(k, valid);
    msg += guess.empty() ? "" : "; did you mean '" + guess + "'?";
    if (guess.empty()) {
      msg += "; valid keys:";
      for (const auto& name : valid) msg += " " + name;
    }
    throw UserError(msg);
  }
}

}  // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, word.size() / 2) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

const std::vector<SectionSchema>& config_schema() {
  using T = OptionType;
  static const std::vector<SectionSchema> schema = {
      {"audit",
       std::nullopt,
       true,
       {option("name", T::kString, "", "a name for the run (default: the config file's stem)"),
        option("seed", T::kInt, "0", "seed of every random draw of the audit"),
        option("workdir", T::kPath, "panoramia-work",
               "work directory (cache, plugin outputs, default database), relative to the current "
               "directory"),
        option("db", T::kPath, "", "results database (default: <workdir>/results.db)"),
        option("plugin_path", T::kString, "",
               "comma-separated plugin directories, relative to the config file"),
        option("device", T::kString, "auto", "device to compute on", {"auto", "cpu", "cuda"}),
        option("precision", T::kString, "fp32",
               "training of the generator, target and helpers: fp32, or bf16 autocast",
               {"fp32", "bf16"}),
        option("threads", T::kInt, "0", "intra-op threads (0: the cores available)")
            .within(0, 4096),
        option("threshold_mode", T::kString, "reference",
               "threshold sweep: reference (100 thresholds, as the paper) or all (every distinct "
               "score, Bonferroni over their count)",
               {"reference", "all"}),
        option("bound_search", T::kString, "reference",
               "bound search: reference (integer bracket, 30 bisections) or exact",
               {"reference", "exact"}),
        option("confidence", T::kDouble, "0.95", "joint confidence of the reported bounds")
            .between(0, 1)}},
      {"data", kDatasetReader, true, {plugin_key(true)}},
      {"split",
       std::nullopt,
       false,
       {fraction("target_fraction", "0.8",
                 "fraction of the data the target trains on; the rest is its validation set"),
        option("max_samples", T::kInt, "0", "use at most this many samples of the data (0: all)")
            .at_least(0),
        fraction("generator_fraction", "0.3333333333333333",
                 "fraction of the target's training set given to the generator"),
        fraction("attack_train_fraction", "0.3333333333333333",
                 "fraction of the target's training set used as attack-training members"),
        fraction("attack_test_fraction", "0.3333333333333333",
                 "fraction of the target's training set used as attack-test members")}},
      {"generator",
       kGenerator,
       true,
       {plugin_key(true),
        option("load", T::kPath, "", "load a saved generator instead of training"),
        option("helper_samples", T::kInt, "0",
               "synthetic samples for the helper model (0: as many as the generator's training "
               "set)")
            .at_least(0)}},
      {"target",
       kTarget,
       true,
       {plugin_key(true),
        option("load", T::kPath, "", "load a saved target model instead of training it")}},
      {"helper",
       kTarget,
       false,
       {plugin_key(false),
        option("validation_fraction", T::kDouble, "0.1",
               "fraction of the helper's synthetic data held out for its model selection")
            .within_below(0, 1),
        option("count", T::kInt, "1",
               "helpers trained, each on its own synthetic samples and seed: helper 1 is the "
               "baseline's side model, helpers 2..count are every attack's reference models")
            .within(1, 64)}},
      {"featurizer", kFeaturizer, true, {plugin_key(true)}},
      {"attack", kAttack, true, {plugin_key(true)}},
      {"attacks",
       std::nullopt,
       false,
       {option("list", T::kString, "",
               "more attacks run beside [attack] on the same generator, target and helpers "
               "(comma-separated plugin names); NAME.key = value sets one of their options")}},
      {"game",
       std::nullopt,
       false,
       {option("seed", T::kInt, "-1", "seed of the m fair coins (-1: derived from [audit] seed)")
            .at_least(-1),
        option("m", T::kInt, "0", "number of test slots (0: as many as the test pools allow)")
            .at_least(0),
        option("nonmembers", T::kString, "generated",
               "generated: the PANORAMIA game; both: also the same game with real held-out "
               "non-members (c = 0, so its {eps+c}_lb is a lower bound on eps)",
               {"generated", "both"})}},
      {"o1",
       std::nullopt,
       false,
       {option(
            "canaries", T::kInt, "0",
            "O(1) audit (Steinke et al. 2023): canaries drawn from the held-out data, each trained "
            "on with probability 1/2 (0: off)")
            .at_least(0),
        option(
            "selection", T::kString, "bonferroni",
            "how k+ and k- are chosen: fixed, bonferroni (grid, corrected), split (chosen on one "
            "half, evaluated on the other) or reference (the paper's code: optimistic)",
            {"fixed", "bonferroni", "split", "reference"}),
        option("k_plus", T::kInt, "0", "fixed selection: member guesses (lowest losses)")
            .at_least(0),
        option("k_minus", T::kInt, "0", "fixed selection: non-member guesses (highest losses)")
            .at_least(0),
        option("grid", T::kDoubleList, "0,0.01,0.02,0.05,0.1,0.2,0.3,0.5",
               "bonferroni/split: candidate k+ and k- as fractions of the canaries")
            .within(0, 1),
        option("confidence", T::kDouble, "0.95", "confidence of the O(1) bound").between(0, 1),
        option("delta", T::kDouble, "0", "the target's DP delta in Steinke's p-value")
            .within_below(0, 1),
        option("fdp_delta", T::kDouble, "1e-5",
               "the delta at which the f-DP one-run audit's Gaussian mu_lb is converted to eps")
            .between(0, 1)}},
      {"repeat",
       std::nullopt,
       false,
       {option("target_seeds", T::kInt, "1",
               "trainings of the target and helper with different seeds (1: the configured one)")
            .within(1, 1000),
        option("game_seeds", T::kInt, "1",
               "games per training: each redraws the attack-train/test selection and the coins and "
               "retrains the attacks on the cached models (1: the configured game)")
            .within(1, 1000),
        option("generator", T::kBool, "false",
               "target repetitions also retrain the generator with their seed")}},
  };
  return schema;
}

std::string strip_ini_comments(std::string_view text) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (text.substr(0, kByteOrderMark.size()) == kByteOrderMark)
    text.remove_prefix(kByteOrderMark.size());
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] == ';') {
      line = {};
    } else {
      for (std::size_t i = 1; i < line.size(); ++i) {
        if (line[i] == ';' && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
          line = line.substr(0, i);
          break;
        }
      }
    }
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

RawConfig RawConfig::load(const std::filesystem::path& file) {
  std::ifstream file_in(file, std::ios::binary);
  if (!file_in) throw UserError("cannot open config file " + file.string());
  std::ostringstream content;
  content << file_in.rdbuf();
  if (file_in.bad()) throw UserError("cannot read config file " + file.string());
  std::istringstream in(strip_ini_comments(content.str()));
  RawConfig raw;
  raw.file_ = file;
  po::options_description none;
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const std::exception& e) {
    throw UserError(file.string() + ": " + e.what());
  }
  for (const auto& opt : parsed.options) {
    const auto dot = opt.string_key.find('.');
    if (dot == std::string::npos)
      throw UserError(file.string() + ": key '" + opt.string_key + "' is outside any [section]");
    const std::string section = opt.string_key.substr(0, dot);
    const std::string k = opt.string_key.substr(dot + 1);
    auto& entries = raw.sections_[section];
    if (entries.count(k))
      throw UserError(file.string() + ": [" + section + "] " + k + " is given twice");
    entries[k] = ConfigValue{opt.value.empty() ? "" : opt.value.front(), file.string()};
  }
  return raw;
}

void RawConfig::apply_override(const std::string& assignment) {
  const auto eq = assignment.find('=');
  const auto dot = assignment.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq)
    throw UserError("--set '" + assignment + "' must look like section.key=value");
  const std::string section = detail::trim(assignment.substr(0, dot));
  const std::string k = detail::trim(assignment.substr(dot + 1, eq - dot - 1));
  sections_[section][k] = ConfigValue{detail::trim(assignment.substr(eq + 1)), "--set"};
}

std::optional<std::string> RawConfig::get(const std::string& section, const std::string& k) const {
  auto s = sections_.find(section);
  if (s == sections_.end()) return std::nullopt;
  auto it = s->second.find(k);
  if (it == s->second.end()) return std::nullopt;
  return it->second.value;
}

std::vector<std::filesystem::path> config_plugin_paths(const RawConfig& raw) {
  std::vector<std::filesystem::path> out;
  const auto value = raw.get("audit", "plugin_path");
  if (!value) return out;
  for (const auto& item : detail::split_list(*value)) {
    std::filesystem::path p(item);
    if (p.is_relative()) p = raw.file().parent_path() / p;
    out.push_back(p.lexically_normal());
  }
  return out;
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The attacks of `[attacks] list` and their `NAME.key` options, as sections "attack:NAME".
void resolve_attack_list(const std::string& file, const std::string& list,
                         const ConfigValue& list_value,
                         const std::map<std::string, ConfigValue>& options,
                         const PluginRegistry& registry, ResolvedConfig& resolved) {
  const std::string where = describe_origin(list_value, "attacks", "list");
  const std::string primary = resolved.section("attack").plugin;
  std::vector<std::string> names;
  for (const std::string& name : detail::split_list(list)) {
    if (name.empty()) throw UserError(where + " = '" + list + "' has an empty name");
    if (name == primary)
      throw UserError(where + " names '" + name +
                      "', which is already the [attack] plugin; list only the attacks to run "
                      "beside it");
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw UserError(where + " names '" + name + "' twice");
    try {
      registry.get(name, kAttack);
    } catch (const UserError& e) {
      throw UserError(where + ": " + e.what());
    }
    names.push_back(name);
  }
  for (const auto& [key, value] : options) {
    const std::string name = key.substr(0, key.find('.'));
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw UserError(describe_origin(value, "attacks", key) + " sets an option of '" + name +
                      "', which is not in [attacks] list" +
                      (names.empty() ? std::string() : " (" + joined(names) + ")"));
  }
  for (const std::string& name : names) {
    // Validated under their full names (messages say `[attacks] rmia.gamma`), stored without
    // the prefix, as the plugin declared them.
    const std::vector<OptionSpec> specs = registry.options(name, kAttack);
    std::vector<OptionSpec> prefixed = specs;
    for (auto& spec : prefixed) spec.name = name + "." + spec.name;
    std::map<std::string, ConfigValue> given;
    for (const auto& [key, value] : options)
      if (key.rfind(name + ".", 0) == 0) given[key] = value;
    check_unknown("attacks", given, {&prefixed}, " or of plugin '" + name + "'");
    const OptionValues checked = validate_keys(file, "attacks", prefixed, given);
    std::map<std::string, std::string> values;
    for (const auto& [key, value] : checked.values()) values[key.substr(name.size() + 1)] = value;
    ResolvedSection section;
    section.plugin = name;
    section.plugin_options = OptionValues(specs, std::move(values));
    resolved.sections_[kListedAttackPrefix + name] = std::move(section);
  }
}

}  // namespace

std::vector<std::string> ResolvedConfig::attack_sections() const {
  std::vector<std::string> out{"attack"};
  if (!has("attacks")) return out;
  for (const std::string& name : detail::split_list(section("attacks").host.get_string("list")))
    out.push_back(kListedAttackPrefix + name);
  return out;
}

ResolvedConfig resolve(const RawConfig& raw, const PluginRegistry& registry) {
  const std::string file = raw.file().string();
  const auto& schema = config_schema();
  std::vector<std::string> section_names;
  for (const auto& s : schema) section_names.push_back(s.name);
  for (const auto& [name, entries] : raw.sections()) {
    if (std::find(section_names.begin(), section_names.end(), name) != section_names.end())
      continue;
    const std::string origin = entries.empty() ? file : entries.begin()->second.origin;
    std::string msg = (origin == "--set" ? std::string("--set ") + name + ".*" : file) +
                      ": unknown section [" + name + "]";
    const std::string guess = nearest(name, section_names);
    msg += guess.empty() ? "" : "; did you mean [" + guess + "]?";
    throw UserError(msg);
  }

  ResolvedConfig resolved;
  static const std::map<std::string, ConfigValue> kEmpty;
  for (const auto& section : schema) {
    const auto it = raw.sections().find(section.name);
    const bool present = it != raw.sections().end();
    if (!present && section.required)
      throw UserError(file + ": section [" + section.name + "] is missing");
    std::map<std::string, ConfigValue> given = present ? it->second : kEmpty;
    // [attacks] NAME.key = value: options of the listed attacks, resolved below.
    std::map<std::string, ConfigValue> attack_options;
    if (section.name == "attacks") {
      for (auto entry = given.begin(); entry != given.end();) {
        if (entry->first.find('.') != std::string::npos) {
          attack_options.insert(*entry);
          entry = given.erase(entry);
        } else {
          ++entry;
        }
      }
    }

    // A missing or plugin-less [helper] is a second instance of the target's plugin and options.
    if (section.name == "helper" && !given.count("plugin")) {
      const auto& target = raw.sections().at("target");
      for (const auto& [k, v] : target)
        if (k != "load" && !given.count(k)) given[k] = v;
    }

    std::vector<OptionSpec> host_keys = section.host_keys;
    std::vector<OptionSpec> plugin_specs;
    std::string plugin;
    if (section.kind) {
      auto p = given.find("plugin");
      if (p == given.end())
        throw UserError(file + ": [" + section.name + "] plugin is required (the " +
                        kind_name(*section.kind) + " plugin to use)");
      plugin = detail::trim(p->second.value);
      try {
        registry.get(plugin, *section.kind);
      } catch (const UserError& e) {
        throw UserError(describe_origin(p->second, section.name, "plugin") + ": " + e.what());
      }
      plugin_specs = registry.options(plugin, *section.kind);
      for (const auto& spec : plugin_specs)
        for (const auto& h : host_keys)
          if (spec.name == h.name)
            throw UserError("plugin '" + plugin + "' declares option '" + spec.name +
                            "', which is reserved by the host in [" + section.name + "]");
    }
    check_unknown(section.name, given, {&host_keys, &plugin_specs},
                  plugin.empty() ? "" : " or of plugin '" + plugin + "'");
    std::map<std::string, ConfigValue> host_given, plugin_given;
    for (const auto& entry : given) {
      const std::string& key = entry.first;
      const bool is_host = std::any_of(host_keys.begin(), host_keys.end(),
                                       [&](const OptionSpec& s) { return s.name == key; });
      (is_host ? host_given : plugin_given)[key] = entry.second;
    }
    ResolvedSection out;
    out.plugin = plugin;
    out.host = validate_keys(file, section.name, host_keys, host_given);
    out.plugin_options = validate_keys(file, section.name, plugin_specs, plugin_given);
    if (section.name == "attacks") {
      const std::string list = out.host.get_string("list");
      resolved.sections_[section.name] = std::move(out);
      resolve_attack_list(file, list, given.count("list") ? given.at("list") : ConfigValue{},
                          attack_options, registry, resolved);
      continue;
    }
    resolved.sections_[section.name] = std::move(out);
  }
  return resolved;
}

const ResolvedSection& ResolvedConfig::section(const std::string& name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) throw std::logic_error("no resolved section " + name);
  return it->second;
}

std::string ResolvedConfig::section_text(const std::string& name) const {
  const ResolvedSection& s = section(name);
  std::ostringstream out;
  out << "[" << name << "]\n";
  for (const auto& [k, v] : s.host.values()) out << k << " = " << v << "\n";
  for (const auto& [k, v] : s.plugin_options.values()) out << k << " = " << v << "\n";
  if (name == "attacks") {
    // The listed attacks' options, as a config file writes them.
    const auto sections = attack_sections();
    for (auto it = sections.begin() + 1; it != sections.end(); ++it) {
      const std::string attack = it->substr(std::string(kListedAttackPrefix).size());
      for (const auto& [k, v] : section(*it).plugin_options.values())
        out << attack << "." << k << " = " << v << "\n";
    }
  }
  return out.str();
}

std::string ResolvedConfig::to_ini() const {
  std::string out;
  for (const auto& schema : config_schema()) {
    if (!has(schema.name)) continue;
    if (!out.empty()) out += "\n";
    out += section_text(schema.name);
  }
  return out;
}

}  // namespace panoramia
