#pragma once
/// What differs between the two LibTorch lines panoramia builds against, Debian's 1.13 and the 2.x
/// inside PyTorch's wheel (scripts/run-tests-libtorch2), in one place: code elsewhere calls these
/// names and never tests the version itself.

#include <ATen/autocast_mode.h>
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

/// Mixed-precision autocast of the ops this thread runs on `device` (kCPU or kCUDA) in `dtype`
/// (e.g. bf16) for the guard's lifetime, as torch.autocast does; the previous state is restored
/// and the cast cache cleared when the outermost guard ends. 1.13 has one setter per device
/// type; 2.x takes the device type as an argument.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, at::ScalarType dtype) : device_(device) {
    was_enabled_ = enabled(device_);
    was_dtype_ = get_dtype(device_);
    set_enabled(device_, true);
    set_dtype(device_, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_enabled(device_, was_enabled_);
    set_dtype(device_, was_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

  /// Whether autocast is on for `device` in this thread.
  static bool enabled(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
    return at::autocast::is_autocast_enabled(device);
#else
    return device == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
  }

 private:
  static void set_enabled(c10::DeviceType device, bool on) {
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_enabled(device, on);
#else
    if (device == c10::kCUDA)
      at::autocast::set_enabled(on);
    else
      at::autocast::set_cpu_enabled(on);
#endif
  }
  static at::ScalarType get_dtype(c10::DeviceType device) {
#if TORCH_VERSION_MAJOR >= 2
    return at::autocast::get_autocast_dtype(device);
#else
    return device == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                                : at::autocast::get_autocast_cpu_dtype();
#endif
  }
  static void set_dtype(c10::DeviceType device, at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_dtype(device, dtype);
#else
    if (device == c10::kCUDA)
      at::autocast::set_autocast_gpu_dtype(dtype);
    else
      at::autocast::set_autocast_cpu_dtype(dtype);
#endif
  }

  c10::DeviceType device_;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

}  // namespace panoramia::torch_compat
