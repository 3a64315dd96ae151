#pragma once
/// What differs between the two LibTorch lines panoramia builds against, Debian's 1.13 and the 2.x
/// inside PyTorch's wheel (scripts/run-tests-libtorch2), in one place: code elsewhere calls these
/// names and never tests the version itself.

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <variant>
#else
#include <c10/util/variant.h>
#endif

namespace panoramia::torch_compat {

/// True when built against LibTorch 2.x.
inline constexpr bool kLibTorch2 = TORCH_VERSION_MAJOR >= 2;

/// The alternative `T` of a LibTorch option variant (a layer's padding, padding mode), or null.
/// 1.13 has its own c10::variant; 2.x uses std::variant.
template <class T, class Variant>
auto get_if(Variant* v) {
#if TORCH_VERSION_MAJOR >= 2
  return std::get_if<T>(v);
#else
  return c10::get_if<T>(v);
#endif
}

}  // namespace panoramia::torch_compat
