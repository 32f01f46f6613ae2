#pragma once
// The table of configuration keys, private to the config module: each key's section, name,
// type, description, how to read and write it in `config`, and how its value must look, as data.
// The loader (config.cc) checks values against these rules and `schema_json` (schema.cc) prints
// the same rules for the Python jobs (config/adsx.schema.json), so the two cannot drift.
//
//   for (const auto& f : fields()) { auto why = check(f.valid, f.get(c)); ... }
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adsx/config/config.h"

namespace adsx::config::detail {

enum class value_type
{
    string,
    integer,
    boolean,
    path
};

// Checks a rule cannot state as a range, a list or a pattern; each has a name in the schema and
// one implementation per language (rules.cc, python/adsx_jobs/config.py).
enum class format
{
    none,
    non_empty,
    host_port_list,
    duration
};

// How a key's value must look. Unset members do not constrain.
struct rule
{
    std::optional<std::int64_t> min;  // integers, inclusive
    std::optional<std::int64_t> max;
    std::vector<std::string> one_of;  // strings: the value must be one of these
    std::string pattern;              // strings: a regex the whole value must match
    format form = format::none;
};

// How a path key resolves beyond "relative to the project root, absolute as it is".
struct path_rule
{
    bool keep_urls = false;              // a value containing "://" is kept as it is
    bool user_cache_when_empty = false;  // "" means $XDG_CACHE_HOME/adstreamx or ~/.cache/…
};

// A key's typed value: integers, booleans, and strings (paths too).
using value = std::variant<std::int64_t, bool, std::string>;

// One configuration key: where it lives, what it means, its rule, and how to read and write it
// in a `config` (the member its declaration in fields.cc names).
struct field
{
    std::string section;
    std::string key;
    std::string description;
    value_type type = value_type::string;
    rule valid;
    path_rule paths;
    std::function<value(const config&)> get;
    std::function<void(config&, const value&)> put;
};

// Every key, in the order `adsx config show` lists them (fields.cc).
[[nodiscard]] const std::vector<field>& fields();

// Why `v` breaks `r` ("out of range [1, 65535]"), or nothing when it is valid (rules.cc).
[[nodiscard]] std::optional<std::string> check(const rule& r, const value& v);

// A value as `adsx config show` prints it and as the schema's defaults are written: integers
// and booleans bare, strings JSON-quoted.
[[nodiscard]] std::string show(const value& v);

// The spellings of booleans accepted from the environment (the TOML file has true and false).
inline constexpr std::string_view env_true[] = {"true", "1", "yes"};
inline constexpr std::string_view env_false[] = {"false", "0", "no"};

// "string", "integer", "boolean" or "path", as the schema writes types.
[[nodiscard]] std::string_view type_name(value_type t);

// A named format: what the schema calls it, what it accepts in words, and its check.
struct named_format
{
    format form;
    std::string_view name;
    std::string_view accepts;
    std::optional<std::string> (*check)(std::string_view);
};

// Every named format (rules.cc), and the name of one ("" for format::none).
[[nodiscard]] std::span<const named_format> named_formats();
[[nodiscard]] std::string_view format_name(format f);

}  // namespace adsx::config::detail
