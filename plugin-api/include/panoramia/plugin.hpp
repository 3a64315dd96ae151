#pragma once
/// The plugin entry point. A plugin library defines a `PluginFactory` subclass and declares it with
/// one line:
///
///     PANORAMIA_PLUGIN(MyFactory, "my-plugin", "1.0.0", panoramia::kGenerator, "What it does.");
///
/// The macro exports two C functions: `panoramia_plugin_info` (the handshake, a plain struct the
/// host checks before anything else) and `panoramia_plugin_factory`. Plugin authors never write
/// `extern "C"` themselves.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/api/include/torch/version.h>
#include <boost/config.hpp>

#include "panoramia/interfaces.hpp"

namespace panoramia {

/// Version of this API. The host refuses a plugin built against another one.
constexpr std::uint32_t kApiVersion = 6;

/// The kinds of component a plugin can provide (a bit mask: one library may provide several).
enum Kind : std::uint32_t {
  kDatasetReader = 1u << 0,
  kGenerator = 1u << 1,
  kTarget = 1u << 2,
  kFeaturizer = 1u << 3,
  kAttack = 1u << 4,
};

inline const char* kind_name(Kind kind) {
  switch (kind) {
    case kDatasetReader:
      return "reader";
    case kGenerator:
      return "generator";
    case kTarget:
      return "target";
    case kFeaturizer:
      return "featurizer";
    case kAttack:
      return "attack";
  }
  return "unknown";
}

/// The handshake. Plain data only, so that it can be read whatever the plugin was built with.
/// The host reads it before anything else and refuses the library (one sentence naming the file)
/// when `api_version`, `torch_version` or `cxx11_abi` differ from its own, or a string is not
/// readable. The strings must live as long as the library is loaded (`PANORAMIA_PLUGIN` makes
/// them static). `name` is how configs select the plugin (`plugin = NAME`); `kinds` a mask of
/// `Kind`.
struct PluginInfo {
  std::uint32_t api_version;
  const char* name;
  const char* version;
  std::uint32_t kinds;
  const char* torch_version;
  int cxx11_abi;
  const char* description;
};

/// Makes the plugin's objects. The host keeps one factory per loaded library (the static one of
/// `PANORAMIA_PLUGIN`); it calls a `make_*` once per instance, with a context that outlives the
/// instance, owns the returned object and keeps the library loaded while it lives. A `make_*` may
/// throw like any method (see interfaces.hpp). The defaults throw: override the ones for the kinds
/// the plugin declares.
class BOOST_SYMBOL_VISIBLE PluginFactory {
 public:
  virtual ~PluginFactory() = default;
  /// Options accepted by the component of `kind` (name, type, default, one-line help, and the
  /// choices or range the host enforces). Called for each kind the plugin declares, before any
  /// `make_*` (to check a config, and for `panoramia plugins show`), possibly several times: it
  /// must be cheap, return the same list every time, and not throw. The values reach the
  /// component through `Context::options()`.
  virtual std::vector<OptionSpec> options(Kind kind) const = 0;

  virtual std::unique_ptr<DatasetReader> make_dataset_reader(Context&) {
    return unsupported("reader");
  }
  virtual std::unique_ptr<Generator> make_generator(Context&) { return unsupported("generator"); }
  virtual std::unique_ptr<TargetAdapter> make_target(Context&) { return unsupported("target"); }
  virtual std::unique_ptr<Featurizer> make_featurizer(Context&) {
    return unsupported("featurizer");
  }
  virtual std::unique_ptr<Attack> make_attack(Context&) { return unsupported("attack"); }

 private:
  struct Unsupported {
    const char* what;
    template <typename T>
    operator std::unique_ptr<T>() const {  // NOLINT: converts to any product type
      throw std::logic_error(std::string("this plugin does not provide a ") + what);
    }
  };
  static Unsupported unsupported(const char* what) { return Unsupported{what}; }
};

}  // namespace panoramia

// The values below describe how the plugin was built; tests override them to build refusal
// fixtures.
#ifndef PANORAMIA_BUILT_API_VERSION
#define PANORAMIA_BUILT_API_VERSION ::panoramia::kApiVersion
#endif
#ifndef PANORAMIA_BUILT_TORCH_VERSION
#define PANORAMIA_BUILT_TORCH_VERSION TORCH_VERSION
#endif
#ifndef PANORAMIA_BUILT_CXX11_ABI
#define PANORAMIA_BUILT_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#endif

/// Declares the plugin: `FACTORY` is a default-constructible `PluginFactory` subclass, `KINDS` a
/// mask of `panoramia::Kind` values.
#define PANORAMIA_PLUGIN(FACTORY, NAME, VERSION, KINDS, DESCRIPTION)                      \
  extern "C" BOOST_SYMBOL_EXPORT const ::panoramia::PluginInfo* panoramia_plugin_info() { \
    static const ::panoramia::PluginInfo info{PANORAMIA_BUILT_API_VERSION,                \
                                              NAME,                                       \
                                              VERSION,                                    \
                                              static_cast<std::uint32_t>(KINDS),          \
                                              PANORAMIA_BUILT_TORCH_VERSION,              \
                                              PANORAMIA_BUILT_CXX11_ABI,                  \
                                              DESCRIPTION};                               \
    return &info;                                                                         \
  }                                                                                       \
  extern "C" BOOST_SYMBOL_EXPORT ::panoramia::PluginFactory* panoramia_plugin_factory() { \
    static FACTORY factory;                                                               \
    return &factory;                                                                      \
  }
