// The declarative rules of configuration values (field.h) and what each named format accepts.
// python/adsx_jobs/config.py implements the same checks from config/adsx.schema.json; the
// config_parity test holds the two to the same verdicts.
#include <algorithm>
#include <limits>
#include <regex>

#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/config/field.h"

namespace adsx::config::detail {
namespace {

std::optional<std::string> non_empty(std::string_view v)
{
    if (trim(v).empty()) {
        return "must not be empty";
    }
    return std::nullopt;
}

std::optional<std::string> host_port_list(std::string_view v)
{
    if (trim(v).empty()) {
        return "must list at least one host:port";
    }
    for (auto part : split(v, ',')) {
        auto hp = trim(part);
        auto colon = hp.rfind(':');
        if (colon == std::string_view::npos || colon == 0) {
            return fmt::format("'{}' is not host:port", hp);
        }
        auto port = parse_int(hp.substr(colon + 1));
        if (!port || *port < 1 || *port > 65535) {
            return fmt::format("'{}' has no valid port", hp);
        }
    }
    return std::nullopt;
}

std::optional<std::string> duration(std::string_view v)
{
    auto t = trim(v);
    std::size_t digits = 0;
    while (digits < t.size() && t[digits] >= '0' && t[digits] <= '9') {
        ++digits;
    }
    auto unit = t.substr(digits);
    if (digits == 0 || parse_int(t.substr(0, digits)).value_or(0) <= 0 ||
        (unit != "ms" && unit != "s" && unit != "m" && unit != "h")) {
        return "must be a positive duration such as 500ms, 2s, 1m";
    }
    return std::nullopt;
}

constexpr named_format formats[] = {
    {format::non_empty, "non_empty", "not empty after trimming ASCII whitespace", non_empty},
    {format::host_port_list, "host_port_list",
     "comma-separated host:port items (each trimmed; the port after the last ':' is an integer in "
     "[1, 65535], the host before it not empty)",
     host_port_list},
    {format::duration, "duration",
     "a positive integer followed by ms, s, m or h (surrounding ASCII whitespace ignored), as "
     "Prometheus writes durations",
     duration},
};

std::optional<std::string> check_format(format f, std::string_view v)
{
    for (const auto& n : formats) {
        if (n.form == f) {
            return n.check(v);
        }
    }
    return std::nullopt;
}

std::optional<std::string> check_text(const rule& r, const std::string& v)
{
    if (!r.one_of.empty() && std::find(r.one_of.begin(), r.one_of.end(), v) == r.one_of.end()) {
        return fmt::format("must be one of {}", fmt::join(r.one_of, "|"));
    }
    if (!r.pattern.empty() && !std::regex_match(v, std::regex(r.pattern))) {
        return fmt::format("must match {}", r.pattern);
    }
    return check_format(r.form, v);
}

}  // namespace

std::optional<std::string> check(const rule& r, const value& v)
{
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        if ((r.min && *i < *r.min) || (r.max && *i > *r.max)) {
            return fmt::format("out of range [{}, {}]",
                               r.min.value_or(std::numeric_limits<std::int64_t>::min()),
                               r.max.value_or(std::numeric_limits<std::int64_t>::max()));
        }
        return std::nullopt;
    }
    if (const auto* s = std::get_if<std::string>(&v)) {
        return check_text(r, *s);
    }
    return std::nullopt;
}

std::string show(const value& v)
{
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return std::to_string(*i);
    }
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b ? "true" : "false";
    }
    return json_quote(std::get<std::string>(v));
}

std::span<const named_format> named_formats()
{
    return formats;
}

std::string_view format_name(format f)
{
    for (const auto& n : formats) {
        if (n.form == f) {
            return n.name;
        }
    }
    return "";
}

std::string_view type_name(value_type t)
{
    static constexpr std::string_view names[] = {"string", "integer", "boolean", "path"};
    return names[static_cast<std::size_t>(t)];
}

}  // namespace adsx::config::detail
