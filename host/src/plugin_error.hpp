#pragma once
// Errors the host reports: one sentence naming what and where.

#include <stdexcept>
#include <string>

namespace panoramia {

/// A user-facing error (bad config, missing file, refused plugin): printed as is, exit code 2.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An exception that escaped a plugin call, tagged with the plugin and the operation.
class PluginError : public std::runtime_error {
 public:
  PluginError(std::string plugin, std::string operation, const std::string& message)
      : std::runtime_error("plugin '" + plugin + "' failed in " + operation + ": " + message),
        plugin_(std::move(plugin)),
        operation_(std::move(operation)) {}
  const std::string& plugin() const { return plugin_; }
  const std::string& operation() const { return operation_; }

 private:
  std::string plugin_;
  std::string operation_;
};

/// Runs `fn` (a call into plugin code) and turns any exception into a `PluginError`.
template <typename Fn>
auto guarded(const std::string& plugin, const std::string& operation, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const PluginError&) {
    throw;
  } catch (const std::exception& e) {
    throw PluginError(plugin, operation, e.what());
  } catch (...) {
    throw PluginError(plugin, operation, "an exception of unknown type");
  }
}

}  // namespace panoramia
