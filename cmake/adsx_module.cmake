# adsx_module(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
#
# Declares the static library adsx_<name> with the alias adsx::<name>. Headers are included
# rooted at src/ ("adsx/<name>/x.h"). DEPS are public (they appear in our headers),
# PRIVATE_DEPS stay inside the module: that is how heavy headers (Beast, librdkafka,
# hiredis, libpq) stay in their adapter modules and out of everyone else's compile.
#
# adsx_test(<name> SOURCES ... DEPS ... [LABEL unit|integration])
#
# Declares a GoogleTest executable registered with CTest under the given label (unit by default);
# the unit ones are dependencies of the target unit_tests.
#
# adsx_pytest(<name> FILE <test_file.py> LABEL <label> [TIMEOUT <seconds>] [STACK_FREE])
#
# Registers a pytest suite that drives the real `adsx` binary (ADSX_BIN) with CTest, labelled
# pytest as well as <label>.
#
# Every pytest suite takes the lock adsx_stack unless STACK_FREE (see adsx_stack_lock).

set(ADSX_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                  -Wcast-align -Woverloaded-virtual)
if(ADSX_WERROR)
  list(APPEND ADSX_WARNINGS -Werror)
endif()

function(adsx_target_defaults target)
  target_compile_options(${target} PRIVATE ${ADSX_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/src)
endfunction()

function(adsx_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(adsx_${name} STATIC ${ARG_SOURCES})
  add_library(adsx::${name} ALIAS adsx_${name})
  adsx_target_defaults(adsx_${name})
  target_link_libraries(adsx_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

function(adsx_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT ADSX_BUILD_TESTS)
    return()
  endif()
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  adsx_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL}
                       ENVIRONMENT "ADSX_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  adsx_stack_lock(${name} ${ARG_LABEL})
  if(ARG_LABEL STREQUAL "unit")
    add_dependencies(unit_tests ${name})
  endif()
endfunction()

# A pytest run of one FILE, or of several in one process (FILES: suites that share what a
# process holds, such as PySpark's warm JVM).
function(adsx_pytest name)
  cmake_parse_arguments(ARG "STACK_FREE" "LABEL;TIMEOUT" "FILE;FILES" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  list(TRANSFORM ARG_FILES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  list(TRANSFORM ARG_FILE PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  add_test(NAME ${name}
           COMMAND ${ADSX_PYTHON} -m pytest -q -p no:cacheprovider --durations=10
                   ${ARG_FILE} ${ARG_FILES})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL};pytest" TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "ADSX_BIN=$<TARGET_FILE:adsx>;ADSX_SOURCE_DIR=${PROJECT_SOURCE_DIR};ADSX_BUILD_DIR=${PROJECT_BINARY_DIR}")
  if(ARG_STACK_FREE)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT ADSX_TEST_STACK_FREE=1)
  else()
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK adsx_stack)
  endif()
endfunction()

# Suites that use the local stack share its Redis keys, PostgreSQL rows, Kafka consumer groups
# and one `adsx stream` at a time: under `ctest -j` they hold one lock and run one by one, while
# the suites that touch no part of it (GoogleTest unit suites, pytest suites marked STACK_FREE)
# run beside them. A STACK_FREE suite gets ADSX_TEST_STACK_FREE=1, which tells the integration
# conftest to skip its session fixtures (they migrate the stack's PostgreSQL and lift its erased
# users for the session).
function(adsx_stack_lock name label)
  if(NOT label STREQUAL "unit")
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK adsx_stack)
  endif()
endfunction()
