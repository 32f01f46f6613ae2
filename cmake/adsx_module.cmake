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
# adsx_pytest(<name> FILE <test_file.py> LABEL <label> [TIMEOUT <seconds>]
#             [STACK_FREE | OWN_STACK <first port> | CLUSTER_STACK <fixture>] [ENV <k=v> ...])
#
# Registers a pytest suite that drives the real `adsx` binary (ADSX_BIN) with CTest, labelled
# pytest as well as <label>. ENV adds environment variables (a smaller size for a variant).
#
# Every pytest suite takes the lock adsx_stack unless STACK_FREE or OWN_STACK (see
# adsx_stack_lock and adsx_own_stack).

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
  cmake_parse_arguments(ARG "STACK_FREE" "LABEL;TIMEOUT;OWN_STACK;CLUSTER_STACK" "FILE;FILES;ENV"
                        ${ARGN})
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
  elseif(ARG_OWN_STACK)
    adsx_own_stack(${name} ${ARG_OWN_STACK})
  elseif(ARG_CLUSTER_STACK)
    adsx_use_cluster_stack(${name} ${ARG_CLUSTER_STACK})
  else()
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK adsx_stack)
  endif()
  if(ARG_ENV)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT ${ARG_ENV})
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

# A pytest suite with a whole stack of its own (OWN_STACK <first port>): Kafka, its controller,
# Redis, PostgreSQL and Prometheus on the five ports from <first port>, and its data, logs,
# secrets, lake, checkpoints and models under build/it-<name>/var, all through the same
# ADSX_SECTION__KEY variables a user sets; its commands' /metrics on ports the system picks. The
# integration conftest starts that stack for the session and stops and purges it at the end
# (ADSX_TEST_OWN_STACK=1). Such a suite takes no lock: it runs beside the suites that share the
# local stack, which is how `spark_jobs`, the longest suite and mostly Spark's CPU, overlaps
# with theirs, mostly waiting on real time.
function(adsx_own_stack name first_port)
  adsx_own_stack_env(env ${name} ${first_port})
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT ADSX_TEST_OWN_STACK=1 ${env})
endfunction()

# The ADSX_* variables of such a stack, into <out>.
function(adsx_own_stack_env out name first_port)
  set(var ${PROJECT_BINARY_DIR}/it-${name}/var)
  math(EXPR controller "${first_port} + 1")
  math(EXPR redis "${first_port} + 2")
  math(EXPR postgres "${first_port} + 3")
  math(EXPR prometheus "${first_port} + 4")
  set(${out}
    ADSX_STACK__VAR_DIR=${var}
    ADSX_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:${first_port}
    ADSX_KAFKA__CONTROLLER_PORT=${controller}
    ADSX_REDIS__PORT=${redis}
    ADSX_POSTGRES__PORT=${postgres}
    ADSX_PROMETHEUS__PORT=${prometheus}
    ADSX_METRICS__PORT=0
    ADSX_PRIVACY__HMAC_KEY_FILE=${var}/secrets/hmac.key
    ADSX_SERVE__ADMIN_TOKEN_FILE=${var}/secrets/admin.token
    ADSX_SPARK__CHECKPOINT_DIR=${var}/spark/checkpoints
    ADSX_LAKE__DIR=${var}/lake
    ADSX_MODELS__DIR=${var}/models
    PARENT_SCOPE)
endfunction()

# A stack of its own in Redis Cluster mode ([redis] mode = "cluster"), shared by the tests that
# name the CTest fixture <fixture> (adsx_use_cluster_stack): the fixture's setup test brings it
# up, its cleanup test stops and purges it. Ports as adsx_own_stack's, but Redis's three masters
# take <first port> + 5 to + 7 (their cluster buses 10000 above).
function(adsx_cluster_stack fixture first_port)
  adsx_own_stack_env(env ${fixture} ${first_port})
  math(EXPR redis "${first_port} + 5")
  list(FILTER env EXCLUDE REGEX "^ADSX_REDIS__PORT=")
  list(APPEND env ADSX_REDIS__MODE=cluster ADSX_REDIS__PORT=${redis})
  add_test(NAME ${fixture}_up COMMAND adsx stack up)
  add_test(NAME ${fixture}_down COMMAND adsx stack down --purge)
  set_tests_properties(${fixture}_up PROPERTIES FIXTURES_SETUP ${fixture} LABELS integration
                       ENVIRONMENT "${env}")
  set_tests_properties(${fixture}_down PROPERTIES FIXTURES_CLEANUP ${fixture}
                       LABELS integration ENVIRONMENT "${env}")
  set_property(GLOBAL PROPERTY adsx_cluster_stack_env_${fixture} "${env}")
endfunction()

# Runs <test> on the cluster stack of <fixture> instead of the shared local stack: the tests on
# it hold the lock <fixture> (they flush its Redis), and run beside those of the local stack.
function(adsx_use_cluster_stack test fixture)
  get_property(env GLOBAL PROPERTY adsx_cluster_stack_env_${fixture})
  set_tests_properties(${test} PROPERTIES FIXTURES_REQUIRED ${fixture} RESOURCE_LOCK ${fixture})
  set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT ${env})
endfunction()
