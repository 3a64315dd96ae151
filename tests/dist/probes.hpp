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

/// The bounds on |two ranks - one process| a probe derives from its own settings (learning rate,
/// steps, batch, clipping norm; tolerance.hpp), one per returned tensor (or one for all): every
/// element within `hard`, and all but `outliers()` elements of the whole state within `tight`.
/// The two differ only for Adam, where an element whose gradient is rounding noise may drift by
/// whole steps (hard: adam_drift_bound) while the others stay within its rounding bound (tight).
/// dist_probe saves them next to the state (FILE.tolerance) for the harness.
struct Bound {
  double tight, hard;
};
inline std::vector<Bound>& tolerances() {
  static std::vector<Bound> bounds;
  return bounds;
}
inline std::int64_t& outliers() {
  static std::int64_t count = 0;
  return count;
}
/// An output of the probe (scores) that the compared weights determine: its tensor's index, and
/// for each state tensor either nothing or |∂output/∂tensor| (the largest over the output's
/// elements), so that the harness adds the first-order effect of the weights' actual differences,
/// Σ |∂output/∂w|·|Δw|, to the output's own bound.
inline std::int64_t& sensitive_output() {
  static std::int64_t index = -1;
  return index;
}
inline std::vector<at::Tensor>& sensitivities() {
  static std::vector<at::Tensor> tensors;
  return tensors;
}

/// `static const probes::Register r("name", fn);` in a probe_*.cpp adds a probe.
struct Register {
  Register(const std::string& name, Probe probe) { registry()[name] = std::move(probe); }
};

}  // namespace panoramia::probes
