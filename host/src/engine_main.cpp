// The engine: the commands that need LibTorch (audit, plugins, launch, doctor, --version), in a
// shared library that the front end (front.cpp) loads only for them. Exported: one C function,
// declared in engine.hpp.
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <panoramia/plugin.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "engine.hpp"
#include "plugin_error.hpp"

using namespace panoramia;
using namespace panoramia::cli;

namespace {

constexpr const char* kPanoramiaVersion = "0.1.0";

int dispatch(int argc, char** argv) {
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--version") {
    std::cout << "panoramia " << kPanoramiaVersion << " (plugin API " << kApiVersion
              << ", LibTorch " << TORCH_VERSION << ")\n";
    return 0;
  }
  if (command == "audit") return cmd_audit(args);
  if (command == "plugins") return cmd_plugins(args);
  if (command == "launch") return cmd_launch(args, argv[0]);
  if (command == "doctor") return cmd_doctor(args);
  throw UserError("unknown command '" + command + "' (run 'panoramia --help')");
}

}  // namespace

extern "C" PANORAMIA_ENGINE_API int panoramia_engine_main(int argc, char** argv) {
  if (argc < 2) return 2;
  return cli::guarded_main([&] { return dispatch(argc, argv); });
}
