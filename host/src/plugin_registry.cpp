#include "plugin_registry.hpp"

#include <link.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "plugin_error.hpp"

namespace panoramia {
namespace {

using InfoFn = const PluginInfo*();
using FactoryFn = PluginFactory*();

std::string major_minor(const std::string& version) {
  const auto first = version.find('.');
  if (first == std::string::npos) return version;
  const auto second = version.find('.', first + 1);
  return version.substr(0, second);
}

// The readable bytes from `p` to the end of the loaded segment (of any library or the executable)
// that holds it; 0 when no readable segment does. Reading a plugin's handshake through a pointer
// that was not checked this way can crash the host.
std::size_t readable_bytes_at(const void* p) {
  struct Query {
    std::uintptr_t address;
    std::size_t readable;
  } query{reinterpret_cast<std::uintptr_t>(p), 0};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* q = static_cast<Query*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& segment = info->dlpi_phdr[i];
          if (segment.p_type != PT_LOAD || (segment.p_flags & PF_R) == 0) continue;
          const std::uintptr_t begin = info->dlpi_addr + segment.p_vaddr;
          const std::uintptr_t end = begin + segment.p_memsz;
          if (q->address >= begin && q->address < end) {
            q->readable = end - q->address;
            return 1;
          }
        }
        return 0;
      },
      &query);
  return query.readable;
}

// Why the handshake `info` cannot be read safely (empty when it can): the structure and each of
// its strings must lie in loaded, readable data (the static data PANORAMIA_PLUGIN makes), each
// string ending within 4 KiB.
std::string unreadable_handshake(const PluginInfo* info) {
  if (readable_bytes_at(info) < sizeof(PluginInfo))
    return "its panoramia_plugin_info returned an address outside the loaded libraries' data";
  const std::pair<const char*, const char*> strings[] = {{"name", info->name},
                                                         {"version", info->version},
                                                         {"torch_version", info->torch_version},
                                                         {"description", info->description}};
  for (const auto& [field, text] : strings) {
    if (text == nullptr) continue;
    const std::size_t readable = std::min<std::size_t>(readable_bytes_at(text), 4096);
    if (readable == 0 || std::memchr(text, '\0', readable) == nullptr)
      return std::string("the ") + field +
             " of its panoramia_plugin_info points outside the loaded libraries' data or is not "
             "a string";
  }
  return {};
}

// An object made by a plugin, deleted while its library is still loaded.
template <typename T>
std::shared_ptr<T> holding_library(std::unique_ptr<T> object,
                                   std::shared_ptr<boost::dll::shared_library> library) {
  if (!object) throw std::runtime_error("the factory returned no object");
  return std::shared_ptr<T>(object.release(), [library](T* p) { delete p; });
}

}  // namespace

PluginRegistry::PluginRegistry() = default;

// Libraries stay loaded until the process ends (unloading a library that uses LibTorch while the
// process exits runs its static destructors after LibTorch's own and can crash), so the destructor
// deliberately leaks the handles.
PluginRegistry::~PluginRegistry() {
  for (auto& lib : keep_alive_) new std::shared_ptr<boost::dll::shared_library>(lib);
}

std::filesystem::path PluginRegistry::bundled_dir() {
  const std::filesystem::path exe = boost::dll::program_location().string();
  return (exe.parent_path() / ".." / "lib" / "panoramia" / "plugins").lexically_normal();
}

void PluginRegistry::refuse(const std::filesystem::path& path, const std::string& reason) {
  refusals_.push_back("refused plugin " + path.string() + ": " + reason + ".");
}

void PluginRegistry::load_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    refusals_.push_back("plugin directory " + dir.string() + " does not exist.");
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());  // deterministic order: first of a duplicate name wins
  for (const auto& file : files) load_file(file);
}

bool PluginRegistry::load_file(const std::filesystem::path& path) {
  // dlopen of a FIFO or a device blocks or reads forever: only regular files are opened.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    refuse(path, "it is not a regular file");
    return false;
  }
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(boost::dll::fs::path(path.string()),
                  boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    refuse(path, std::string("it is not a loadable shared library (") + e.what() + ")");
    return false;
  }
  // From here on the library is loaded: keep it even if refused, since unloading is unsafe.
  keep_alive_.push_back(library);

  if (!library->has("panoramia_plugin_info")) {
    refuse(path,
           "it has no panoramia_plugin_info entry point (was it declared with PANORAMIA_PLUGIN?)");
    return false;
  }
  const PluginInfo* info = nullptr;
  try {
    info = library->get<InfoFn>("panoramia_plugin_info")();
  } catch (const std::exception& e) {
    refuse(path, std::string("its panoramia_plugin_info failed: ") + e.what());
    return false;
  }
  if (info != nullptr) {
    if (const auto problem = unreadable_handshake(info); !problem.empty()) {
      refuse(path, problem);
      return false;
    }
  }
  if (info == nullptr || info->name == nullptr || info->version == nullptr) {
    refuse(path, "its panoramia_plugin_info returned no name or version");
    return false;
  }
  if (info->api_version != kApiVersion) {
    refuse(path, "it was built for plugin API version " + std::to_string(info->api_version) +
                     " but this host speaks version " + std::to_string(kApiVersion) +
                     " (rebuild it against this host's plugin-api headers)");
    return false;
  }
  const std::string torch = info->torch_version ? info->torch_version : "";
  if (major_minor(torch) != major_minor(TORCH_VERSION)) {
    refuse(path, "it was built against LibTorch " + torch + " but this host uses LibTorch " +
                     TORCH_VERSION);
    return false;
  }
  if (info->cxx11_abi != _GLIBCXX_USE_CXX11_ABI) {
    refuse(path, "it was built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(info->cxx11_abi) +
                     " but this host uses _GLIBCXX_USE_CXX11_ABI=" +
                     std::to_string(_GLIBCXX_USE_CXX11_ABI));
    return false;
  }
  const std::string name = info->name;
  if (auto it = plugins_.find(name); it != plugins_.end()) {
    refuse(path,
           "a plugin named '" + name + "' is already loaded from " + it->second.path.string());
    return false;
  }
  if (!library->has("panoramia_plugin_factory")) {
    refuse(path, "it has no panoramia_plugin_factory entry point");
    return false;
  }
  PluginFactory* factory = nullptr;
  try {
    factory = library->get<FactoryFn>("panoramia_plugin_factory")();
  } catch (const std::exception& e) {
    refuse(path, std::string("its factory failed to start: ") + e.what());
    return false;
  } catch (...) {
    refuse(path, "its factory failed to start with an exception of unknown type");
    return false;
  }
  if (factory == nullptr) {
    refuse(path, "its panoramia_plugin_factory returned null");
    return false;
  }
  LoadedPlugin plugin;
  plugin.name = name;
  plugin.version = info->version;
  plugin.description = info->description ? info->description : "";
  plugin.kinds = info->kinds;
  plugin.path = path;
  plugin.library = library;
  plugin.factory = factory;
  plugins_.emplace(name, std::move(plugin));
  return true;
}

const LoadedPlugin* PluginRegistry::find(const std::string& name) const {
  auto it = plugins_.find(name);
  return it == plugins_.end() ? nullptr : &it->second;
}

const LoadedPlugin& PluginRegistry::get(const std::string& name, Kind kind) const {
  const LoadedPlugin* plugin = find(name);
  if (plugin != nullptr && plugin->provides(kind)) return *plugin;
  std::ostringstream known;
  for (const auto& [n, p] : plugins_)
    if (p.provides(kind)) known << (known.tellp() > 0 ? ", " : "") << n;
  const std::string list = known.str().empty() ? "none" : known.str();
  if (plugin != nullptr)
    throw UserError("plugin '" + name + "' does not provide a " + kind_name(kind) +
                    " (plugins that do: " + list + ")");
  throw UserError("no " + std::string(kind_name(kind)) + " plugin named '" + name +
                  "' is loaded (available: " + list + ")");
}

std::vector<OptionSpec> PluginRegistry::options(const std::string& name, Kind kind) const {
  const LoadedPlugin& plugin = get(name, kind);
  return guarded(name, std::string("options(") + kind_name(kind) + ")",
                 [&] { return plugin.factory->options(kind); });
}

std::shared_ptr<DatasetReader> PluginRegistry::make_dataset_reader(const std::string& name,
                                                                   Context& ctx) const {
  const LoadedPlugin& p = get(name, kDatasetReader);
  return guarded(name, "creating the reader",
                 [&] { return holding_library(p.factory->make_dataset_reader(ctx), p.library); });
}

std::shared_ptr<Generator> PluginRegistry::make_generator(const std::string& name,
                                                          Context& ctx) const {
  const LoadedPlugin& p = get(name, kGenerator);
  return guarded(name, "creating the generator",
                 [&] { return holding_library(p.factory->make_generator(ctx), p.library); });
}

std::shared_ptr<TargetAdapter> PluginRegistry::make_target(const std::string& name,
                                                           Context& ctx) const {
  const LoadedPlugin& p = get(name, kTarget);
  return guarded(name, "creating the target adapter",
                 [&] { return holding_library(p.factory->make_target(ctx), p.library); });
}

std::shared_ptr<Featurizer> PluginRegistry::make_featurizer(const std::string& name,
                                                            Context& ctx) const {
  const LoadedPlugin& p = get(name, kFeaturizer);
  return guarded(name, "creating the featurizer",
                 [&] { return holding_library(p.factory->make_featurizer(ctx), p.library); });
}

std::shared_ptr<Attack> PluginRegistry::make_attack(const std::string& name, Context& ctx) const {
  const LoadedPlugin& p = get(name, kAttack);
  return guarded(name, "creating the attack",
                 [&] { return holding_library(p.factory->make_attack(ctx), p.library); });
}

}  // namespace panoramia
