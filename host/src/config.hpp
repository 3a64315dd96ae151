#pragma once
// Audit configuration: INI files read with Boost.Program_options, one section per stage, each
// naming its plugin and that plugin's options; `--set section.key=value` overrides. Validation
// (unknown section or key with a suggestion, wrong type, missing required value) needs the plugins'
// declared options, so it happens in `resolve`, once the plugins are loaded.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <panoramia/options.hpp>
#include <panoramia/plugin.hpp>

namespace panoramia {

class PluginRegistry;

struct ConfigValue {
  std::string value;
  std::string origin;  // "FILE" or "--set"
};

/// The INI text that Boost.Program_options parses, from a config file's text: a UTF-8 byte-order
/// mark dropped, a line whose first non-blank character is `;` emptied, and an inline comment (a
/// `;` after a space or tab, to the end of the line) cut. Boost itself treats `#` and what follows
/// as a comment. Line breaks are kept, so line counts do not change.
std::string strip_ini_comments(std::string_view text);

/// The raw key/value pairs of a config file plus overrides.
class RawConfig {
 public:
  /// Reads `file`; throws UserError naming the file for a missing/unreadable file or a syntax
  /// error.
  static RawConfig load(const std::filesystem::path& file);
  /// Applies `section.key=value`; throws UserError for a malformed override.
  void apply_override(const std::string& assignment);

  const std::filesystem::path& file() const { return file_; }
  const std::map<std::string, std::map<std::string, ConfigValue>>& sections() const {
    return sections_;
  }
  std::optional<std::string> get(const std::string& section, const std::string& key) const;
  bool has_section(const std::string& section) const { return sections_.count(section) != 0; }

 private:
  std::filesystem::path file_;
  std::map<std::string, std::map<std::string, ConfigValue>> sections_;
};

/// The validated, complete configuration: every section with every key (config value or default).
struct ResolvedSection {
  std::string plugin;  // empty for host-only sections
  OptionValues host;   // the host's own keys of this section
  OptionValues plugin_options;
};

/// The section name under which an attack of `[attacks] list` is resolved ("attack:NAME").
constexpr const char* kListedAttackPrefix = "attack:";

class ResolvedConfig {
 public:
  const ResolvedSection& section(const std::string& name) const;
  /// The attacks of the audit, as section names: "attack" (the `[attack]` plugin, the audit's
  /// headline), then "attack:NAME" for each plugin of `[attacks] list`, in its order.
  std::vector<std::string> attack_sections() const;
  bool has(const std::string& name) const { return sections_.count(name) != 0; }
  /// The full config as INI text (deterministic order), stored with every run.
  std::string to_ini() const;
  /// The INI text of one section (used in cache keys).
  std::string section_text(const std::string& name) const;

  std::map<std::string, ResolvedSection> sections_;
};

/// Host sections and their own keys; a section with a `kind` names a plugin of that kind.
struct SectionSchema {
  std::string name;
  std::optional<Kind> kind;
  bool required = true;
  std::vector<OptionSpec> host_keys;
};
const std::vector<SectionSchema>& config_schema();

/// Plugin search directories named by the config (`[audit] plugin_path`), relative to the config
/// file.
std::vector<std::filesystem::path> config_plugin_paths(const RawConfig& raw);

/// Validates `raw` against the host schema and the plugins' options; throws UserError naming the
/// file, the key and what was expected (with the nearest valid key for an unknown one).
ResolvedConfig resolve(const RawConfig& raw, const PluginRegistry& registry);

/// Levenshtein distance (for "did you mean").
std::size_t edit_distance(const std::string& a, const std::string& b);
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace panoramia
