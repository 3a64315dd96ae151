# What building against the LibTorch inside PyTorch's wheel (the 2.x line, scripts/run-tests-libtorch2)
# needs beyond find_package(Torch), for panoramia itself and for plugins built against an installed
# panoramia (PanoramiaConfig.cmake includes it after finding Torch and spdlog). Nothing changes for
# Debian's LibTorch 1.13. Sets PANORAMIA_TORCH_LIBDIR (LibTorch's library directory).
get_filename_component(PANORAMIA_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
if(Torch_VERSION VERSION_LESS 2)
  return()
endif()
# The wheel's include directory carries its own {fmt} (12.x), which would shadow Debian's (9.x,
# the one libspdlog and libfmt are built with): Debian's goes first. spdlog found that {fmt}: its
# package's include directory (/usr/include on Debian).
get_target_property(panoramia_fmt_include fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
list(GET panoramia_fmt_include 0 panoramia_fmt_include)
set(PANORAMIA_SYSTEM_FMT "${CMAKE_BINARY_DIR}/system-fmt")
file(MAKE_DIRECTORY "${PANORAMIA_SYSTEM_FMT}")
file(CREATE_LINK "${panoramia_fmt_include}/fmt" "${PANORAMIA_SYSTEM_FMT}/fmt" SYMBOLIC)
include_directories(BEFORE SYSTEM "${PANORAMIA_SYSTEM_FMT}")
# The CUDA libraries the wheel's libtorch_cuda needs come from the wheel's nvidia packages (its
# RPATH finds them at run time); the linker would otherwise take the CUDA toolkit's older NCCL.
file(GLOB panoramia_wheel_cuda_libs "${PANORAMIA_TORCH_LIBDIR}/../../nvidia/*/lib")
foreach(dir IN LISTS panoramia_wheel_cuda_libs)
  add_link_options("LINKER:-rpath-link,${dir}")
endforeach()
# Installed binaries and plugins find that LibTorch through their RPATH (CMake leaves directories
# inside the source tree, where scripts/run-tests-libtorch2 puts the wheel, out of
# CMAKE_INSTALL_RPATH_USE_LINK_PATH).
list(APPEND CMAKE_INSTALL_RPATH "${PANORAMIA_TORCH_LIBDIR}")
