#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "blas_core.hpp"
#include "cli/commands.hpp"
#include "dist/nccl_group.hpp"
#include "pipeline.hpp"
#include "plugin_error.hpp"
#include "plugin_registry.hpp"
#include "threads.hpp"

namespace panoramia::cli {
namespace {

// The CPU BLAS/LAPACK libraries mapped into this process, resolved through their links.
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
    if (name.find("cublas") != std::string::npos) continue;  // the GPU's, mapped by CUDA LibTorch
    std::error_code ec;
    const auto real = std::filesystem::canonical(path, ec);
    found.insert(ec ? path : real.string());
  }
  return found;
}

// A C entry point of a library already mapped into this process (a dependency of LibTorch's CUDA
// part), or null: dlopen with RTLD_NOLOAD loads nothing, so a CPU-only LibTorch finds none.
template <class Fn>
Fn mapped_function(const char* library, const char* name) {
  void* handle = ::dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  auto fn = reinterpret_cast<Fn>(::dlsym(handle, name));
  ::dlclose(handle);  // still mapped: LibTorch holds it
  return fn;
}

// The CUDA runtime and driver, cuDNN and NCCL versions of this process's LibTorch, from the
// libraries it mapped ("" for each that is not there: a CPU-only LibTorch).
struct GpuStack {
  std::string runtime, driver, cudnn, nccl;
  std::vector<std::string> devices;
};

GpuStack gpu_stack(bool cuda_available) {
  GpuStack g;
  using VersionFn = int (*)(int*);
  for (const char* lib : {"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0"}) {
    if (auto fn = mapped_function<VersionFn>(lib, "cudaRuntimeGetVersion")) {
      int v = 0;
      if (fn(&v) == 0) g.runtime = fmt::format("{}.{}", v / 1000, v % 1000 / 10);
      int d = 0;
      if (auto driver = mapped_function<VersionFn>(lib, "cudaDriverGetVersion"))
        g.driver = driver(&d) == 0 && d > 0 ? fmt::format("{}.{}", d / 1000, d % 1000 / 10)
                                            : "none (no NVIDIA driver)";
      break;
    }
  }
  using CudnnFn = std::size_t (*)();
  for (const char* lib : {"libcudnn.so.9", "libcudnn.so.8"})
    if (auto fn = mapped_function<CudnnFn>(lib, "cudnnGetVersion")) {
      const std::size_t v = fn();  // major·10000 + minor·100 + patch from cuDNN 9 (·1000 in 8)
      g.cudnn = v >= 90000 ? fmt::format("{}.{}.{}", v / 10000, v % 10000 / 100, v % 100)
                           : fmt::format("{}.{}.{}", v / 1000, v % 1000 / 100, v % 100);
      break;
    }
  if (auto fn = mapped_function<VersionFn>("libnccl.so.2", "ncclGetVersion")) {
    int v = 0;  // major·10000 + minor·100 + patch since NCCL 2.9
    if (fn(&v) == 0) g.nccl = fmt::format("{}.{}.{}", v / 10000, v % 10000 / 100, v % 100);
  }
  if (cuda_available)
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i)
      g.devices.push_back(fmt::format("cuda:{}", i));
  // The devices' names, from the driver API once LibTorch has initialised CUDA.
  using NameFn = int (*)(char*, int, int);
  if (auto name = mapped_function<NameFn>("libcuda.so.1", "cuDeviceGetName"))
    for (std::size_t i = 0; i < g.devices.size(); ++i) {
      char text[256] = {};
      if (name(text, sizeof(text), static_cast<int>(i)) == 0)
        g.devices[i] += std::string(" ") + text;
    }
  return g;
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
  // The LibTorch inside PyTorch's wheel carries Intel MKL inside libtorch_cpu (no library of its
  // own).
  const bool mkl = at::hasMKL();
  if (blas.empty()) row("BLAS library", mkl ? "Intel MKL, linked into LibTorch" : "none mapped");
  using ConfigFn = char* (*)();
  using ThreadsFn = int (*)();
  if (auto config = reinterpret_cast<ConfigFn>(::dlsym(RTLD_DEFAULT, "openblas_get_config")))
    row("OpenBLAS config", config());
  if (auto core = reinterpret_cast<ConfigFn>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"))) {
    const char* source = std::getenv(blas::kCoreSource);
    row("OpenBLAS core",
        std::string(core()) + (source != nullptr ? std::string(", from ") + source
                                                 : std::string(", OpenBLAS's own choice")));
  }
  if (auto threads = reinterpret_cast<ThreadsFn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
    row("OpenBLAS threads", std::to_string(threads()));
  if (!openblas && !(mkl && blas.empty()))
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
  const auto gpu = gpu_stack(cuda);
  if (!gpu.runtime.empty()) {
    row("CUDA runtime", gpu.runtime);
    row("CUDA driver", gpu.driver);
  } else {
    row("CUDA runtime", "none (LibTorch built without CUDA)");
  }
  row("cuDNN", gpu.cudnn.empty() ? "none" : gpu.cudnn);
  row("NCCL", gpu.nccl.empty() ? "none" : gpu.nccl);
  for (const auto& device : gpu.devices) row("GPU", device);
  row("distributed", dist::nccl_available()
                         ? "c10d TCPStore + ProcessGroupGloo (CPU) + ProcessGroupNCCL (CUDA ranks)"
                         : "c10d TCPStore + ProcessGroupGloo (CPU and CUDA tensors)");

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
