# panoramia_add_plugin(<name> SOURCES <src>... [LIBRARIES <lib>...] [OUTPUT_DIR <dir>] [NO_INSTALL])
#
# Builds a plugin shared library (C++17, hidden visibility, LibTorch precompiled header) named
# lib<name>.so, linked with the SDK (Panoramia::plugin_api and Panoramia::data_parallel). In the panoramia tree it goes to the bundled plugin directory; out of tree it is
# built where CMake puts libraries and installed to <prefix>/lib/panoramia/plugins.
function(panoramia_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "panoramia_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  if(TARGET panoramia_data_parallel)  # in the panoramia tree
    target_link_libraries(${name} PRIVATE panoramia_data_parallel ${ARG_LIBRARIES})
  else()
    target_link_libraries(${name} PRIVATE Panoramia::data_parallel ${ARG_LIBRARIES})
  endif()
  target_compile_features(${name} PRIVATE cxx_std_17)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib" CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${name} PRIVATE -fvisibility=hidden -fvisibility-inlines-hidden)
  if(TARGET panoramia_pch)
    target_precompile_headers(${name} REUSE_FROM panoramia_pch)
  else()
    target_precompile_headers(${name} PRIVATE <torch/torch.h>)
  endif()
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIR}")
  elseif(DEFINED PANORAMIA_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${PANORAMIA_PLUGIN_OUTPUT_DIR}")
  endif()
  if(NOT ARG_NO_INSTALL)
    set_property(GLOBAL APPEND PROPERTY PANORAMIA_BUNDLED_PLUGINS ${name})
    install(TARGETS ${name} LIBRARY DESTINATION "${PANORAMIA_PLUGIN_DIR}")
  endif()
endfunction()
