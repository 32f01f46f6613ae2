#include "adsx/ranking/json_read.h"

#include <cmath>

#include <fmt/format.h>

namespace adsx::ranking::json {

namespace {

std::string child_path(const std::string& parent, std::string_view key)
{
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

}  // namespace

tl::unexpected<error> invalid(const value& v, std::string_view what)
{
    return fail(error_code::invalid_argument,
                fmt::format("{}: {}", v.path.empty() ? "the document" : v.path, what));
}

result<value> parse(dom::parser& parser, std::string_view text)
{
    dom::element root;
    if (auto err = parser.parse(text.data(), text.size()).get(root)) {
        return fail(error_code::invalid_argument,
                    fmt::format("not valid JSON ({})", simdjson::error_message(err)));
    }
    return value{root, {}};
}

bool is_null(const value& v) noexcept
{
    return v.element.is_null();
}

result<dom::object> as_object(const value& v)
{
    dom::object o;
    if (v.element.get_object().get(o)) {
        return invalid(v, "must be an object");
    }
    return o;
}

result<std::string_view> as_string(const value& v)
{
    std::string_view s;
    if (v.element.get_string().get(s)) {
        return invalid(v, "must be a string");
    }
    return s;
}

result<double> as_number(const value& v)
{
    double d = 0;
    if (!v.element.is_number() || v.element.get_double().get(d)) {
        return invalid(v, "must be a number");
    }
    return d;
}

result<std::int64_t> as_integer(const value& v)
{
    std::int64_t i = 0;
    if (!v.element.get_int64().get(i)) {
        return i;
    }
    double d = 0;
    constexpr double limit = 9007199254740992.0;  // 2^53: every integer below is exact
    if (v.element.is_double() && !v.element.get_double().get(d) && std::trunc(d) == d &&
        std::fabs(d) <= limit) {
        return static_cast<std::int64_t>(d);
    }
    return invalid(v, "must be an integer");
}

result<std::vector<value>> elements(const value& v)
{
    dom::array a;
    if (v.element.get_array().get(a)) {
        return invalid(v, "must be an array");
    }
    std::vector<value> out;
    out.reserve(a.size());
    std::size_t i = 0;
    for (dom::element e : a) {
        out.push_back(value{e, fmt::format("{}[{}]", v.path, i++)});
    }
    return out;
}

result<std::optional<value>> optional_member(const value& object, std::string_view key)
{
    auto o = as_object(object);
    if (!o) {
        return fail(o.error());
    }
    dom::element e;
    if (o->at_key(key).get(e)) {
        return std::optional<value>();
    }
    return std::optional<value>(value{e, child_path(object.path, key)});
}

result<value> member(const value& object, std::string_view key)
{
    auto m = optional_member(object, key);
    if (!m) {
        return fail(m.error());
    }
    if (!*m) {
        return fail(error_code::invalid_argument,
                    fmt::format("{} is missing", child_path(object.path, key)));
    }
    return std::move(**m);
}

result<std::string_view> string_at(const value& object, std::string_view key)
{
    return member(object, key).and_then(as_string);
}

result<double> number_at(const value& object, std::string_view key)
{
    return member(object, key).and_then(as_number);
}

result<std::int64_t> integer_at(const value& object, std::string_view key)
{
    return member(object, key).and_then(as_integer);
}

result<std::optional<double>> nullable_number_at(const value& object, std::string_view key)
{
    auto m = member(object, key);
    if (!m) {
        return fail(m.error());
    }
    if (is_null(*m)) {
        return std::optional<double>();
    }
    return as_number(*m).map([](double d) { return std::optional<double>(d); });
}

result<void> only_members(const value& object, std::initializer_list<std::string_view> allowed)
{
    auto o = as_object(object);
    if (!o) {
        return fail(o.error());
    }
    for (auto [key, unused] : *o) {
        bool known = false;
        for (auto a : allowed) {
            known = known || a == key;
        }
        if (!known) {
            return invalid(object, fmt::format("unknown member \"{}\"", key));
        }
    }
    return {};
}

}  // namespace adsx::ranking::json
