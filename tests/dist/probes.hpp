#pragma once
// The training runs `dist_probe --model NAME` can do, each in its own probe_*.cpp: a probe trains
// through a plugin's own training loop on seeded toy data, with the rank layout of `ctx`, and
// returns the state to compare (parameters, buffers, whatever must match a one-process run).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "panoramia/context.hpp"

namespace panoramia::probes {

using Probe = std::function<std::vector<at::Tensor>(Context& ctx, std::int64_t epochs)>;

inline std::map<std::string, Probe>& registry() {
  static std::map<std::string, Probe> probes;
  return probes;
}

/// `static const probes::Register r("name", fn);` in a probe_*.cpp adds a probe.
struct Register {
  Register(const std::string& name, Probe probe) { registry()[name] = std::move(probe); }
};

}  // namespace panoramia::probes
