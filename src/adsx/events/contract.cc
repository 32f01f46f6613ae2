#include "adsx/events/contract.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/events/ad_event_schema.h"

namespace adsx::events {

namespace dom = simdjson::dom;

namespace {

constexpr std::string_view source = "ad_event.schema.json";

tl::unexpected<error> bad(std::string_view what)
{
    return fail(error_code::invalid_argument, fmt::format("{}: {}", source, what));
}

// The JSON type of a property, and whether it may be null: "string" or ["string", "null"].
result<void> read_type(dom::element t, property_rules& p)
{
    std::vector<std::string_view> names;
    std::string_view one;
    if (!t.get_string().get(one)) {
        names.push_back(one);
    } else if (dom::array list; !t.get_array().get(list)) {
        for (auto x : list) {
            if (x.get_string().get(one)) {
                return bad(p.name + ": type must name JSON types");
            }
            names.push_back(one);
        }
    }
    p.nullable = std::erase(names, std::string_view("null")) > 0;
    if (names.size() != 1) {
        return bad(p.name + ": type must be one JSON type, or it and null");
    }
    if (names[0] == "string") {
        p.type = json_type::string;
    } else if (names[0] == "integer") {
        p.type = json_type::integer;
    } else if (names[0] == "number") {
        p.type = json_type::number;
    } else {
        return bad(fmt::format("{}: type {} is not implemented", p.name, names[0]));
    }
    return {};
}

result<std::int64_t> integer_of(dom::element v, const property_rules& p, std::string_view kw)
{
    std::int64_t i = 0;
    if (v.get_int64().get(i)) {
        return bad(fmt::format("{}: {} must be an integer", p.name, kw));
    }
    return i;
}

result<std::size_t> length_of(dom::element v, const property_rules& p, std::string_view kw)
{
    auto i = integer_of(v, p, kw);
    if (!i || *i < 0) {
        return bad(fmt::format("{}: {} must be a non-negative integer", p.name, kw));
    }
    return static_cast<std::size_t>(*i);
}

// minimum, maximum or const: an integer for integer properties, a number for number ones.
result<void> read_bound(dom::element v, property_rules& p, std::string_view kw)
{
    if (p.type == json_type::string) {
        return bad(fmt::format("{}: {} on a string", p.name, kw));
    }
    if (p.type == json_type::number) {
        double d = 0;
        if (v.get_double().get(d) || kw == "const") {
            return bad(fmt::format("{}: {} of a number property is not implemented", p.name, kw));
        }
        (kw == "minimum" ? p.min_number : p.max_number) = d;
        return {};
    }
    auto i = integer_of(v, p, kw);
    if (!i) {
        return fail(i.error());
    }
    (kw == "minimum" ? p.min_int : kw == "maximum" ? p.max_int : p.const_int) = *i;
    return {};
}

result<void> read_strings(dom::element v, property_rules& p)
{
    dom::array list;
    if (p.type != json_type::string || v.get_array().get(list)) {
        return bad(p.name + ": enum must list strings of a string property");
    }
    for (auto x : list) {
        std::string_view s;
        if (x.get_string().get(s)) {
            return bad(p.name + ": enum must list strings");
        }
        p.one_of.emplace_back(s);
    }
    return {};
}

constexpr std::array<std::string_view, keyword_count> keyword_names = {
    "const", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern"};

result<reason> reason_named(dom::element v, const property_rules& p)
{
    std::string_view s;
    std::optional<reason> r;
    if (!v.get_string().get(s)) {
        r = parse_reason(s);
    }
    if (!r) {
        return bad(fmt::format("{}: x-adsx-reason: {} is not a dead-letter reason", p.name,
                               simdjson::to_string(v)));
    }
    return *r;
}

// x-adsx-reason: "reason" (every value keyword) or {"keyword": "reason", ...}.
result<void> read_reasons(dom::element v, property_rules& p)
{
    dom::object per_keyword;
    if (v.get_object().get(per_keyword)) {
        auto r = reason_named(v, p);
        if (!r) {
            return fail(r.error());
        }
        p.reasons = property_rules::filled(*r);
        return {};
    }
    for (auto [kw, name] : per_keyword) {
        auto at = std::find(keyword_names.begin(), keyword_names.end(), kw);
        auto r = reason_named(name, p);
        if (at == keyword_names.end() || !r) {
            return bad(fmt::format("{}: x-adsx-reason: {} is not a value keyword with a reason",
                                   p.name, kw));
        }
        p.reasons[static_cast<std::size_t>(at - keyword_names.begin())] = *r;
    }
    return {};
}

result<void> read_keyword(std::string_view kw, dom::element v, property_rules& p)
{
    std::string_view s;
    if (kw == "type" || kw == "description" || kw == "format") {
        return {};  // the type is read first; format is documentation (a pattern checks it)
    }
    if (kw == "const" || kw == "minimum" || kw == "maximum") {
        return read_bound(v, p, kw);
    }
    if (kw == "enum") {
        return read_strings(v, p);
    }
    if (kw == "minLength" || kw == "maxLength") {
        auto n = length_of(v, p, kw);
        if (!n) {
            return fail(n.error());
        }
        (kw == "minLength" ? p.min_length : p.max_length) = *n;
        return {};
    }
    if (kw == "pattern" && !v.get_string().get(s)) {
        auto compiled = pattern::compile(s);
        if (!compiled) {
            return bad(p.name + ": " + compiled.error().message);
        }
        p.matches = std::move(*compiled);
        return {};
    }
    if (kw == "x-adsx-reason") {
        return read_reasons(v, p);
    }
    return bad(fmt::format("{}: keyword {} is not implemented", p.name, kw));
}

result<property_rules> read_property(std::string_view name, dom::element rules)
{
    property_rules p;
    p.name = std::string(name);
    dom::object o;
    dom::element t;
    if (rules.get_object().get(o) || o["type"].get(t)) {
        return bad(p.name + ": a property is an object with a type");
    }
    if (auto ok = read_type(t, p); !ok) {
        return fail(ok.error());
    }
    for (auto [kw, v] : o) {
        if (auto ok = read_keyword(kw, v, p); !ok) {
            return fail(ok.error());
        }
    }
    return p;
}

result<record_check> read_record_rule(dom::element r)
{
    std::string_view rule, field, reason_name;
    if (r["rule"].get(rule) || r["field"].get(field) || r["reason"].get(reason_name)) {
        return bad("a record rule has rule, field and reason");
    }
    record_check c{record_rule::future_timestamp, std::string(field), reason::invalid_value};
    if (rule == "revenue_only_on_conversions") {
        c.rule = record_rule::revenue_only_on_conversions;
    } else if (rule != "future_timestamp") {
        return bad(fmt::format("record rule {} is not implemented", rule));
    }
    auto code = parse_reason(reason_name);
    if (!code) {
        return bad(
            fmt::format("record rule {}: {} is not a dead-letter reason", rule, reason_name));
    }
    c.code = *code;
    return c;
}

// The top level's keywords: what is read, and what must hold for the rules to be complete.
result<void> check_top_level(dom::object root)
{
    static constexpr std::string_view known[] = {"$schema",
                                                 "$id",
                                                 "title",
                                                 "description",
                                                 "type",
                                                 "required",
                                                 "properties",
                                                 "x-adsx-max-depth",
                                                 "x-adsx-record-rules",
                                                 "additionalProperties"};
    for (auto [kw, v] : root) {
        if (std::find(std::begin(known), std::end(known), kw) == std::end(known)) {
            return bad(fmt::format("keyword {} is not implemented", kw));
        }
    }
    std::string_view type;
    bool additional = true;
    if (root["type"].get(type) || type != "object" ||
        root["additionalProperties"].get(additional) || additional) {
        return bad("an event is an object without additional properties");
    }
    return {};
}

result<void> read_required(dom::object root, std::vector<property_rules>& props)
{
    for (auto& p : props) {
        p.required = false;
    }
    dom::array required;
    if (root["required"].get(required)) {
        return bad("required must list property names");
    }
    for (auto x : required) {
        std::string_view name;
        if (x.get_string().get(name)) {
            return bad("required must list property names");
        }
        auto it = std::find_if(props.begin(), props.end(),
                               [&](const property_rules& p) { return p.name == name; });
        if (it == props.end()) {
            return bad("required names a property the schema does not have");
        }
        it->required = true;
    }
    return {};
}

result<void> parse_schema(dom::element doc, std::vector<property_rules>& props,
                          std::vector<record_check>& rules, int& depth)
{
    dom::object root, properties;
    dom::array record_rules;
    std::int64_t max_depth = 0;
    if (doc.get_object().get(root) || root["properties"].get(properties) ||
        root["x-adsx-record-rules"].get(record_rules) || root["x-adsx-max-depth"].get(max_depth)) {
        return bad("an object with properties, x-adsx-record-rules and x-adsx-max-depth");
    }
    if (auto ok = check_top_level(root); !ok) {
        return fail(ok.error());
    }
    for (auto [name, rules_of] : properties) {
        auto p = read_property(name, rules_of);
        if (!p) {
            return fail(p.error());
        }
        props.push_back(std::move(*p));
    }
    if (auto ok = read_required(root, props); !ok) {
        return fail(ok.error());
    }
    for (auto r : record_rules) {
        auto c = read_record_rule(r);
        if (!c) {
            return fail(c.error());
        }
        rules.push_back(std::move(*c));
    }
    if (max_depth < 1 || max_depth > 64) {
        return bad("x-adsx-max-depth must be within 1..64");
    }
    depth = static_cast<int>(max_depth);
    return {};
}

}  // namespace

result<contract> contract::parse(std::string_view schema_json)
{
    dom::parser parser;
    dom::element doc;
    if (auto err = parser.parse(schema_json.data(), schema_json.size()).get(doc)) {
        return bad(fmt::format("not JSON: {}", simdjson::error_message(err)));
    }
    contract c;
    if (auto ok = parse_schema(doc, c._properties, c._record_rules, c._max_depth); !ok) {
        return fail(ok.error());
    }
    return c;
}

const contract& contract::ad_event()
{
    static const contract c = [] {
        auto parsed = parse(ad_event_schema_json);
        if (!parsed) {
            std::fprintf(stderr, "the built-in event contract is broken: %s\n",
                         parsed.error().message.c_str());
            std::abort();
        }
        return std::move(*parsed);
    }();
    return c;
}

std::optional<std::size_t> contract::index_of(std::string_view property) const noexcept
{
    for (std::size_t i = 0; i < _properties.size(); ++i) {
        if (_properties[i].name == property) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<reason> property_rules::broken(std::int64_t v) const noexcept
{
    if (const_int && v != *const_int) {
        return reason_of(keyword::const_value);
    }
    if (min_int && v < *min_int) {
        return reason_of(keyword::minimum);
    }
    if (max_int && v > *max_int) {
        return reason_of(keyword::maximum);
    }
    return std::nullopt;
}

std::optional<reason> property_rules::broken(double v) const noexcept
{
    if (min_number && v < *min_number) {
        return reason_of(keyword::minimum);
    }
    if (max_number && v > *max_number) {
        return reason_of(keyword::maximum);
    }
    return std::nullopt;
}

std::optional<reason> property_rules::broken(std::string_view s) const noexcept
{
    if (!one_of.empty() && std::find(one_of.begin(), one_of.end(), s) == one_of.end()) {
        return reason_of(keyword::one_of);
    }
    // Valid UTF-8 holds between size/4 and size code points: count them only when that range
    // does not decide (a long enough text under its maxLength, as most are, is never counted).
    const std::size_t at_most = s.size(), at_least = (s.size() + 3) / 4;
    if ((min_length && at_least < *min_length) || (max_length && at_most > *max_length)) {
        const auto n = code_points(s);
        if (min_length && n < *min_length) {
            return reason_of(keyword::min_length);
        }
        if (max_length && n > *max_length) {
            return reason_of(keyword::max_length);
        }
    }
    if (matches && !matches->matches(s)) {
        return reason_of(keyword::pattern);
    }
    return std::nullopt;
}

std::size_t code_points(std::string_view utf8) noexcept
{
    std::size_t n = 0;
    for (unsigned char c : utf8) {
        n += (c & 0xC0) != 0x80;  // every byte but a continuation byte starts a code point
    }
    return n;
}

std::optional<reason> parse_reason(std::string_view n) noexcept
{
    for (auto r : all_reasons) {
        if (name(r) == n) {
            return r;
        }
    }
    return std::nullopt;
}

}  // namespace adsx::events
