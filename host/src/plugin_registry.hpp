#pragma once
// Finds, checks and loads plugin libraries with Boost.DLL (rtld_now | rtld_local). Libraries are
// never unloaded while the process runs: the registry keeps every loaded library, and each object a
// factory makes holds its library too.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <panoramia/plugin.hpp>

namespace boost::dll {
class shared_library;
}

namespace panoramia {

/// One loaded, accepted plugin.
struct LoadedPlugin {
  std::string name;
  std::string version;
  std::string description;
  std::uint32_t kinds = 0;
  std::filesystem::path path;
  std::shared_ptr<boost::dll::shared_library> library;
  PluginFactory* factory = nullptr;  // owned by the library

  bool provides(Kind kind) const { return (kinds & kind) != 0; }
};

class PluginRegistry {
 public:
  PluginRegistry();
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  /// The bundled plugin directory: <dir of the running executable>/../lib/panoramia/plugins.
  static std::filesystem::path bundled_dir();

  /// Loads every `*.so` in `dir` (not recursive). A missing directory is a refusal, not a crash.
  void load_directory(const std::filesystem::path& dir);
  /// Loads one library. Returns false and records a refusal (one sentence naming the file and the
  /// reason) when it is not a usable plugin; never throws for a bad library.
  bool load_file(const std::filesystem::path& path);

  /// Refusals so far, one sentence each.
  const std::vector<std::string>& refusals() const { return refusals_; }
  const std::map<std::string, LoadedPlugin>& plugins() const { return plugins_; }

  /// The plugin `name` providing `kind`; throws UserError naming the known plugins of that kind.
  const LoadedPlugin& get(const std::string& name, Kind kind) const;
  const LoadedPlugin* find(const std::string& name) const;

  /// Creates a component. The returned object keeps the plugin library alive.
  std::shared_ptr<DatasetReader> make_dataset_reader(const std::string& name, Context& ctx) const;
  std::shared_ptr<Generator> make_generator(const std::string& name, Context& ctx) const;
  std::shared_ptr<TargetAdapter> make_target(const std::string& name, Context& ctx) const;
  std::shared_ptr<Featurizer> make_featurizer(const std::string& name, Context& ctx) const;
  std::shared_ptr<Attack> make_attack(const std::string& name, Context& ctx) const;

  /// The options `name` declares for `kind` (the plugin call is guarded).
  std::vector<OptionSpec> options(const std::string& name, Kind kind) const;

 private:
  void refuse(const std::filesystem::path& path, const std::string& reason);

  std::map<std::string, LoadedPlugin> plugins_;
  std::vector<std::string> refusals_;
  std::vector<std::shared_ptr<boost::dll::shared_library>> keep_alive_;
};

}  // namespace panoramia
