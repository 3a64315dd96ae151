#include "engine.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "blas_core.hpp"
#include "plugin_error.hpp"

namespace panoramia::engine {
namespace {

constexpr const char* kEngineFile = "libpanoramia_engine.so";

// Whether a library whose file name contains `name` is mapped into this process.
bool loaded(const char* name) {
  struct Query {
    const char* name;
    bool found;
  } query{name, false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* q = static_cast<Query*>(data);
        if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, q->name) != nullptr)
          q->found = true;
        return 0;
      },
      &query);
  return query.found;
}

void choose_wait_policy() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) {
    ::setenv(kWaitPolicySource, "environment", 0);
    return;
  }
  // OpenMP reads its environment once, when its library is loaded: setting the variable later
  // would have no effect, and the engine's doctor must not claim it.
  if (loaded("libgomp")) {
    ::setenv(kWaitPolicySource, "unset (OpenMP was loaded before panoramia could set it)", 1);
    return;
  }
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::setenv(kWaitPolicySource, "panoramia (set before OpenMP was loaded)", 1);
}

std::filesystem::path engine_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot locate the panoramia executable: " + ec.message());
  return self.parent_path().parent_path() / "lib" / kEngineFile;
}

void* engine_symbol(const char* name) {
  static void* handle = nullptr;
  if (handle == nullptr) {
    choose_wait_policy();
    blas::choose_core();
    const auto path = engine_path();
    if (!std::filesystem::exists(path))
      throw std::runtime_error("the panoramia engine " + path.string() +
                               " is missing (rebuild or reinstall panoramia)");
    // Never closed: LibTorch must not be unloaded while the process runs.
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
      throw std::runtime_error("cannot load the panoramia engine " + path.string() + ": " +
                               ::dlerror());
  }
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr)
    throw std::runtime_error(std::string("the panoramia engine has no entry point ") + name);
  return symbol;
}

}  // namespace

int run(int argc, char** argv) {
  using Main = int (*)(int, char**);
  return reinterpret_cast<Main>(engine_symbol("panoramia_engine_main"))(argc, argv);
}

}  // namespace panoramia::engine
