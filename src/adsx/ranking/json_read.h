#pragma once
// Reading JSON documents with errors that say where: every failure names the place in the
// document ("calibration.x[3] must be a number"). A thin layer over simdjson's DOM, shared by
// the parsers of this module (features, lr.json, rows) and of src/adsx/models (model.json).
//
//   simdjson::dom::parser parser;
//   auto doc = json::parse(parser, text);                  // result<json::value>, path ""
//   auto bits = doc ? json::integer_at(*doc, "hash_bits") : fail(doc.error());
//
// A `value` views into the parser's document: it is valid until the parser parses again.
// Errors are invalid_argument; callers put the file name in front (error::wrap).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "adsx/base/error.h"

namespace adsx::ranking::json {

namespace dom = simdjson::dom;

// A JSON value and where it is in its document ("" for the document itself).
struct value
{
    dom::element element;
    std::string path;
};

// Parses a whole document (copied into the parser's padded buffer).
[[nodiscard]] result<value> parse(dom::parser& parser, std::string_view text);

[[nodiscard]] bool is_null(const value& v) noexcept;
[[nodiscard]] result<dom::object> as_object(const value& v);
[[nodiscard]] result<std::string_view> as_string(const value& v);
[[nodiscard]] result<double> as_number(const value& v);
// An integral number; 3.0 counts (JSON Schema's "integer"), 3.5 does not.
[[nodiscard]] result<std::int64_t> as_integer(const value& v);
// The elements of an array, each with its path ("x[0]", "x[1]", ...).
[[nodiscard]] result<std::vector<value>> elements(const value& v);

// A member of an object: absent is an error ("... is missing"), or std::nullopt for the
// optional variant.
[[nodiscard]] result<value> member(const value& object, std::string_view key);
[[nodiscard]] result<std::optional<value>> optional_member(const value& object,
                                                           std::string_view key);

// member + as_*.
[[nodiscard]] result<std::string_view> string_at(const value& object, std::string_view key);
[[nodiscard]] result<double> number_at(const value& object, std::string_view key);
[[nodiscard]] result<std::int64_t> integer_at(const value& object, std::string_view key);
// A number, or std::nullopt for JSON null.
[[nodiscard]] result<std::optional<double>> nullable_number_at(const value& object,
                                                               std::string_view key);

// Refuses members other than `allowed` (JSON Schema's additionalProperties: false).
[[nodiscard]] result<void> only_members(const value& object,
                                        std::initializer_list<std::string_view> allowed);

// "where: what" for an error about a value ("features.numeric[0].name: must be a string").
[[nodiscard]] tl::unexpected<error> invalid(const value& v, std::string_view what);

}  // namespace adsx::ranking::json
