# adsx_json_constants(<json file> <header> <namespace>)
#
# Generates a C++ header of constants from a JSON contract file (schemas/online_store.json),
# at configure time, so that C++ and Python read one file. Each member becomes
# `inline constexpr` in <namespace>, named by its path joined with '_' (tiles.minute.width_ms ->
# tiles_minute_width_ms): strings as std::string_view, integers as std::int64_t, other numbers
# as double, arrays of integers as std::array<std::int64_t, N>. An object's "description"
# becomes the comment above its members. CMake re-runs when the JSON changes.
function(adsx_json_constants json header namespace)
  file(READ ${json} text)
  set(body "")
  _adsx_json_members("${text}" "" body)
  file(RELATIVE_PATH source ${PROJECT_SOURCE_DIR} ${json})
  file(CONFIGURE OUTPUT ${header} CONTENT "#pragma once
// Generated from ${source} by cmake/json_constants.cmake: edit the JSON, not this file.
#include <array>
#include <cstdint>
#include <string_view>

namespace ${namespace} {
${body}
}  // namespace ${namespace}
" @ONLY)
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${json})
endfunction()

# Appends the declarations of the members of the JSON object `obj` (path prefix `prefix`), one
# per line, to the string variable `out`.
function(_adsx_json_members obj prefix out)
  set(result "${${out}}")
  string(JSON about ERROR_VARIABLE none GET "${obj}" description)
  if(NOT none)
    string(APPEND result "\n// ${about}\n")
  endif()
  string(JSON count LENGTH "${obj}")
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON key MEMBER "${obj}" ${i})
    string(JSON type TYPE "${obj}" ${key})
    string(JSON value GET "${obj}" ${key})
    set(name "${prefix}${key}")
    if(key STREQUAL "description")
      continue()  # the object's comment, above
    elseif(type STREQUAL "OBJECT")
      _adsx_json_members("${value}" "${name}_" result)
    elseif(type STREQUAL "STRING")
      string(APPEND result "inline constexpr std::string_view ${name} = \"${value}\";\n")
    elseif(type STREQUAL "NUMBER" AND value MATCHES "^-?[0-9]+$")
      string(APPEND result "inline constexpr std::int64_t ${name} = ${value};\n")
    elseif(type STREQUAL "NUMBER")
      string(APPEND result "inline constexpr double ${name} = ${value};\n")
    elseif(type STREQUAL "ARRAY")
      string(JSON n LENGTH "${obj}" ${key})
      set(items "")
      math(EXPR top "${n} - 1")
      foreach(j RANGE ${top})
        string(JSON item GET "${obj}" ${key} ${j})
        list(APPEND items ${item})
      endforeach()
      string(JOIN ", " joined ${items})
      string(APPEND result
           "inline constexpr std::array<std::int64_t, ${n}> ${name} = {${joined}};\n")
    else()
      message(FATAL_ERROR "${json}: ${name} has a type (${type}) no constant is made of")
    endif()
  endforeach()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# adsx_embed_text(<file> <header> <namespace> <name>)
#
# Generates a header holding a file's text as `inline constexpr std::string_view <name>`, at
# configure time (CMake re-runs when the file changes): the binary carries the contract it was
# built with (schemas/ad_event.schema.json) and needs no file at run time.
function(adsx_embed_text file header namespace name)
  file(READ ${file} text)
  if(text MATCHES "\\)json\"")
    message(FATAL_ERROR "${file} contains the raw-string delimiter )json\"")
  endif()
  file(RELATIVE_PATH source ${PROJECT_SOURCE_DIR} ${file})
  file(CONFIGURE OUTPUT ${header} CONTENT "#pragma once
// Generated from ${source} by cmake/json_constants.cmake: edit that file, not this one.
#include <string_view>

namespace ${namespace} {

inline constexpr std::string_view ${name} = R\"json(${text})json\";

}  // namespace ${namespace}
" @ONLY)
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
endfunction()
