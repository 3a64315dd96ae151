# panoramia_add_test(<name> SOURCES <src>... [LIBRARIES <lib>...] [NO_PCH] [FIXTURE <name>]
#                    [LABEL <label>])
# A GoogleTest executable using the shared LibTorch precompiled header; each TEST is one CTest test
# (requiring the CTest fixture FIXTURE, and labelled LABEL, when given).
find_package(GTest REQUIRED)
include(GoogleTest)
function(panoramia_add_test name)
  cmake_parse_arguments(ARG "NO_PCH" "FIXTURE;LABEL" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gtest_main GTest::gmock ${ARG_LIBRARIES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)  # tests/support/
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  if(NOT ARG_NO_PCH)
    target_link_libraries(${name} PRIVATE torch)
    # Same flags as the shared precompiled header (-fPIC, not CMake's -fPIE for executables).
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${name} PRIVATE -fPIC -fvisibility=hidden -fvisibility-inlines-hidden)
    target_precompile_headers(${name} REUSE_FROM panoramia_pch)
  endif()
  # One variable only: a ';' would split the property list. scripts/run-tests exports
  # PANORAMIA_SOURCE_DIR; the compile definitions give tests both paths when run by hand.
  target_compile_definitions(${name} PRIVATE PANORAMIA_TEST_BUILD_DIR="${CMAKE_BINARY_DIR}"
                             PANORAMIA_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set(properties ENVIRONMENT "PANORAMIA_BUILD_DIR=${CMAKE_BINARY_DIR}")
  if(ARG_FIXTURE)
    list(APPEND properties FIXTURES_REQUIRED ${ARG_FIXTURE})
  endif()
  if(ARG_LABEL)
    list(APPEND properties LABELS ${ARG_LABEL})
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES ${properties})
endfunction()
