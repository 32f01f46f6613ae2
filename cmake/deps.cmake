# Every third-party dependency, found once. All come from Debian 12 packages listed in
# deploy/apt-packages.txt; nothing is vendored or downloaded at configure time.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(tl-expected REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(simdjson REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
# The event contract's patterns (schemas/ad_event.schema.json), JIT-compiled.
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# The adsx binary's allocator: the stream engine builds and drops millions of small strings and
# vectors a second, where glibc's malloc took a quarter of its CPU (bench/stream.py: 5.1 -> 4.0
# CPU s per 500k records). Off under sanitizers, which bring their own.
option(ADSX_JEMALLOC "link the adsx binary with jemalloc" ON)
if(ADSX_JEMALLOC)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
# xxHash is used header-only (XXH_INLINE_ALL): nothing to link.
find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
# libxgboost-dev ships a CMake config that names a CLI binary Debian does not install, so the
# C API is found by hand. Imported, hence a SYSTEM include: its headers do not trip our warnings.
find_path(XGBOOST_INCLUDE_DIR xgboost/c_api.h REQUIRED)
find_library(XGBOOST_LIBRARY xgboost REQUIRED)
add_library(XGBoost::capi UNKNOWN IMPORTED)
set_target_properties(XGBoost::capi PROPERTIES IMPORTED_LOCATION ${XGBOOST_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${XGBOOST_INCLUDE_DIR})
if(ADSX_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
