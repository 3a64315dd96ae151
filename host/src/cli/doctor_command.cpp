#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "cli/commands.hpp"
#include "pipeline.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"
#include "threads.hpp"

namespace panoramia::cli {
namespace {

// The BLAS/LAPACK libraries mapped into this process, resolved through their links.
std::set<std::string> mapped_blas() {
  std::set<std::string> found;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = std::filesystem::path(path).filename().string();
    if (name.find("blas") == std::string::npos && name.find("lapack") == std::string::npos &&
        name.find("mkl") == std::string::npos)
      continue;
    std::error_code ec;
    const auto real = std::filesystem::canonical(path, ec);
    found.insert(ec ? path : real.string());
  }
  return found;
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace

int cmd_doctor(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << "usage: panoramia doctor\n  prints what this process runs on and exits 1 when "
                   "something would make audits slow or impossible\n";
      return 0;
    }
    throw UserError("doctor: unknown argument '" + a + "'");
  }
  std::vector<std::string> problems;
  const auto row = [](const std::string& key, const std::string& value) {
    std::cout << fmt::format("{:<22} {}\n", key, value);
  };
  row("LibTorch", TORCH_VERSION);
  // A tiny product makes LibTorch load its BLAS before we look at the mapped libraries.
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).sum().item<float>();
  const auto blas = mapped_blas();
  bool openblas = false, reference = false;
  for (const auto& path : blas) {
    row("BLAS library", path);
    if (path.find("openblas") != std::string::npos) openblas = true;
    if (path.find("/blas/libblas") != std::string::npos) reference = true;
  }
  if (blas.empty()) row("BLAS library", "none mapped");
  using ConfigFn = char* (*)();
  using ThreadsFn = int (*)();
  if (auto config = reinterpret_cast<ConfigFn>(::dlsym(RTLD_DEFAULT, "openblas_get_config")))
    row("OpenBLAS config", config());
  if (auto threads = reinterpret_cast<ThreadsFn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
    row("OpenBLAS threads", std::to_string(threads()));
  if (!openblas)
    problems.push_back(
        reference ? "LibTorch uses the reference BLAS (about 8x slower): install "
                    "libopenblas0-pthread (update-alternatives then selects it for libblas.so.3)"
                  : "OpenBLAS is not the BLAS of this process: install libopenblas0-pthread");

  const int cores = available_cores();
  row("cores available", std::to_string(cores));
  row("intra-op threads", fmt::format("{} (audits default to {}: [audit] threads = 0)",
                                      torch::get_num_threads(), default_threads()));
  row("loop threads", fmt::format("1 for loops whose steps are below {:.0f} MFLOP, {} from there "
                                  "(with [audit] threads = 0)",
                                  kParallelStepFlops / 1e6, default_threads()));
  row("inter-op threads", std::to_string(torch::get_num_interop_threads()));
  const char* omp = std::getenv("OMP_NUM_THREADS");
  row("OMP_NUM_THREADS", omp != nullptr ? omp : "(unset)");
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  const char* source = std::getenv("PANORAMIA_OMP_WAIT_POLICY_SOURCE");
  row("OMP_WAIT_POLICY",
      std::string(wait != nullptr ? wait : "(unset: OpenMP workers spin while idle)") +
          (source != nullptr ? std::string(", from ") + source : ""));

  const bool cuda = torch::cuda::is_available();
  row("CUDA", cuda ? fmt::format("available, {} device(s)", torch::cuda::device_count())
                   : "not available (this LibTorch is CPU-only or no GPU is visible)");
  row("distributed", "c10d TCPStore + ProcessGroupGloo (CPU)");

  PluginRegistry registry;
  registry.load_directory(PluginRegistry::bundled_dir());
  row("plugin directory", PluginRegistry::bundled_dir().string());
  row("plugins loaded", std::to_string(registry.plugins().size()));
  for (const auto& refusal : registry.refusals()) row("plugin refused", refusal);
  if (registry.plugins().empty())
    problems.push_back("no plugin was loaded from " + PluginRegistry::bundled_dir().string());

  for (const auto& p : problems) std::cout << "problem: " << p << "\n";
  if (problems.empty()) std::cout << "no problems found\n";
  return problems.empty() ? 0 : 1;
}

}  // namespace panoramia::cli
