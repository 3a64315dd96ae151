# The libraries panoramia builds against (Debian 12 packages, scripts/install-deps), found once for
# the main project and for the fuzz targets' own project (tests/fuzz).
find_package(Torch REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options filesystem)
find_package(spdlog REQUIRED)
find_package(SQLiteCpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
