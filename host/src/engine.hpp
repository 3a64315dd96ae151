#pragma once
// The front end's view of the engine library (libpanoramia_engine.so): the commands that need
// LibTorch run there, so that `panoramia --help`, `stats`, `runs`, `show`, `export`, `report`
// and `compare` start without loading LibTorch. No LibTorch here.

#include <cstdint>
#include <string>

/// Marks the engine's exported C entry point (everything else in it is hidden).
#define PANORAMIA_ENGINE_API __attribute__((visibility("default")))

extern "C" {
/// Runs `argv[1]` (audit, plugins, launch, doctor, --version) with the usual exit codes.
PANORAMIA_ENGINE_API int panoramia_engine_main(int argc, char** argv);
}

namespace panoramia::engine {

/// The environment variable that tells the engine who chose the OpenMP wait policy.
inline constexpr const char* kWaitPolicySource = "PANORAMIA_OMP_WAIT_POLICY_SOURCE";

/// Sets OMP_WAIT_POLICY=PASSIVE unless the user set it (OpenMP workers that spin while idle make
/// small-batch training several times slower), then loads the engine from <exe>/../lib once and
/// runs the command there. The policy takes effect because OpenMP (libgomp, loaded with LibTorch)
/// reads it when it is loaded, which is after this; `panoramia doctor` says what is in force.
int run(int argc, char** argv);

}  // namespace panoramia::engine
