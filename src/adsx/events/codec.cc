#include "adsx/events/codec.h"

#include <charconv>

#include <simdjson.h>

#include "adsx/base/strings.h"

namespace adsx::events {

namespace {

void put_string(std::string& out, std::string_view key, std::string_view value)
{
    out += ",\"";
    out += key;
    out += "\":\"";
    append_json_escaped(out, value);
    out += '"';
}

void put_nullable(std::string& out, std::string_view key, std::string_view value)
{
    if (value.empty()) {
        out += ",\"";
        out += key;
        out += "\":null";
    } else {
        put_string(out, key, value);
    }
}

void put_uuid(std::string& out, std::string_view key, const uuid& id)
{
    char buf[uuid_text_size];
    format_uuid(id, buf);
    put_string(out, key, std::string_view(buf, sizeof buf));
}

// Numbers through std::to_chars: shortest round-trip text for doubles, no format-string
// parsing on the generator's hot path.
template <class T>
void put_number(std::string& out, std::string_view key, T value)
{
    out += ",\"";
    out += key;
    out += "\":";
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, res.ptr);
}

}  // namespace

void encode(const event& e, std::string& out)
{
    static_assert(schema_version >= 0 && schema_version < 10, "written as one digit");
    out += "{\"schema_version\":";
    out += static_cast<char>('0' + schema_version);
    put_uuid(out, "event_id", e.event_id);
    put_string(out, "event_type", name(e.type));
    put_number(out, "event_time", e.event_time_ms);
    put_string(out, "user_id", e.user_id);
    put_number(out, "ad_id", e.ad_id);
    put_number(out, "campaign_id", e.campaign_id);
    put_number(out, "advertiser_id", e.advertiser_id);
    put_uuid(out, "request_id", e.request_id);
    put_string(out, "device", name(e.device));
    put_string(out, "geo", e.geo);
    put_string(out, "placement", e.placement);
    put_number(out, "slot", e.slot);
    put_number(out, "bid", e.bid);
    put_number(out, "price", e.price);
    put_number(out, "revenue", e.revenue);
    put_nullable(out, "experiment", e.experiment);
    put_nullable(out, "arm", e.arm);
    put_string(out, "consent", e.consent);
    put_string(out, "ip", e.ip);
    put_string(out, "user_agent", e.user_agent);
    out += '}';
}

// ---- decoding --------------------------------------------------------------------------------

namespace {

// The DOM API, not On-Demand: On-Demand is compiled for the build machine's baseline (the
// portable fallback kernel on x86-64 without -march flags), while DOM dispatches at run time
// to the best kernel the CPU has (haswell, icelake).
namespace dom = simdjson::dom;

enum field_bit : std::uint32_t
{
    f_schema_version,
    f_event_id,
    f_event_type,
    f_event_time,
    f_user_id,
    f_ad_id,
    f_campaign_id,
    f_advertiser_id,
    f_request_id,
    f_device,
    f_geo,
    f_placement,
    f_slot,
    f_bid,
    f_price,
    f_revenue,
    f_experiment,
    f_arm,
    f_consent,
    f_ip,
    f_user_agent,
    f_count
};

constexpr std::array<std::string_view, f_count> field_names = {
    "schema_version", "event_id",   "event_type", "event_time", "user_id",   "ad_id", "campaign_id",
    "advertiser_id",  "request_id", "device",     "geo",        "placement", "slot",  "bid",
    "price",          "revenue",    "experiment", "arm",        "consent",   "ip",    "user_agent"};

// `expected`: where the key most likely is (encoders write the fields in one order), tried first.
int field_index(std::string_view key, std::size_t expected) noexcept
{
    if (expected < field_names.size() && field_names[expected] == key) {
        return static_cast<int>(expected);
    }
    for (std::size_t i = 0; i < field_names.size(); ++i) {
        if (field_names[i] == key) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

using maybe_problem = std::optional<problem>;

maybe_problem type_error(int f)
{
    return problem{reason::wrong_type, field_names[static_cast<std::size_t>(f)]};
}

maybe_problem bad_value(int f)
{
    return problem{reason::invalid_value, field_names[static_cast<std::size_t>(f)]};
}

// Reads a string, or null when `nullable`.
maybe_problem read_string(dom::element v, int f, std::string_view& out, bool nullable = false)
{
    if (nullable && v.is_null()) {
        out = {};
        return std::nullopt;
    }
    std::string_view s;
    if (v.get_string().get(s)) {
        return type_error(f);
    }
    out = s;
    return std::nullopt;
}

template <class Int>
maybe_problem read_int(dom::element v, int f, Int& out, std::int64_t lo, std::int64_t hi)
{
    std::int64_t i = 0;
    if (v.get_int64().get(i)) {
        return type_error(f);
    }
    if (i < lo || i > hi) {
        return bad_value(f);
    }
    out = static_cast<Int>(i);
    return std::nullopt;
}

maybe_problem read_amount(dom::element v, int f, double& out)
{
    if (v.get_double().get(out)) {
        return type_error(f);
    }
    if (out < 0) {
        return problem{reason::negative_amount, field_names[static_cast<std::size_t>(f)]};
    }
    return std::nullopt;
}

maybe_problem read_uuid(dom::element v, int f, uuid& out)
{
    std::string_view s;
    if (auto p = read_string(v, f, s)) {
        return p;
    }
    auto id = parse_uuid(s);
    if (!id) {
        return bad_value(f);
    }
    out = *id;
    return std::nullopt;
}

maybe_problem read_enum_fields(dom::element v, int f, event& e)
{
    std::string_view s;
    if (auto p = read_string(v, f, s)) {
        return p;
    }
    if (f == f_event_type) {
        auto t = parse_event_type(s);
        if (!t) {
            return problem{reason::unknown_event_type, "event_type"};
        }
        e.type = *t;
    } else {
        auto d = parse_device(s);
        if (!d) {
            return bad_value(f);
        }
        e.device = *d;
    }
    return std::nullopt;
}

constexpr std::int64_t max_id = 0xffffffffLL;

maybe_problem read_field(int f, dom::element v, event& e)
{
    int ignored_version = 0;
    switch (f) {
        case f_schema_version:
            return read_int(v, f, ignored_version, schema_version, schema_version);
        case f_event_id:
            return read_uuid(v, f, e.event_id);
        case f_event_type:
        case f_device:
            return read_enum_fields(v, f, e);
        case f_event_time:
            return read_int(v, f, e.event_time_ms, 0, INT64_MAX);
        case f_user_id:
            return read_string(v, f, e.user_id);
        case f_ad_id:
            return read_int(v, f, e.ad_id, 1, max_id);
        case f_campaign_id:
            return read_int(v, f, e.campaign_id, 1, max_id);
        case f_advertiser_id:
            return read_int(v, f, e.advertiser_id, 1, max_id);
        case f_request_id:
            return read_uuid(v, f, e.request_id);
        case f_geo:
            return read_string(v, f, e.geo);
        case f_placement:
            return read_string(v, f, e.placement);
        case f_slot:
            return read_int(v, f, e.slot, 1, 10);
        case f_bid:
            return read_amount(v, f, e.bid);
        case f_price:
            return read_amount(v, f, e.price);
        case f_revenue:
            return read_amount(v, f, e.revenue);
        case f_experiment:
            return read_string(v, f, e.experiment, true);
        case f_arm:
            return read_string(v, f, e.arm, true);
        case f_consent:
            return read_string(v, f, e.consent);
        case f_ip:
            return read_string(v, f, e.ip);
        case f_user_agent:
            return read_string(v, f, e.user_agent);
        default:
            return bad_value(f);
    }
}

}  // namespace

struct decoder::impl
{
    dom::parser parser;
    std::string buffer;  // input copied with simdjson's padding
};

decoder::decoder() : _impl(std::make_unique<impl>()) {}
decoder::~decoder() = default;
decoder::decoder(decoder&&) noexcept = default;
decoder& decoder::operator=(decoder&&) noexcept = default;

std::optional<problem> decoder::decode(std::string_view json, event& out)
{
    auto& buf = _impl->buffer;
    buf.assign(json);
    buf.append(simdjson::SIMDJSON_PADDING, '\0');
    dom::element doc;
    dom::object obj;
    if (_impl->parser.parse(buf.data(), json.size(), false).get(doc) || doc.get_object().get(obj)) {
        return problem{reason::malformed_json, {}};
    }
    std::uint32_t seen = 0;
    int f = -1;
    for (auto [key, v] : obj) {
        f = field_index(key, static_cast<std::size_t>(f + 1));
        if (f < 0) {
            return problem{reason::invalid_value, key};
        }
        if (auto p = read_field(f, v, out)) {
            return p;
        }
        seen |= 1u << f;
    }
    for (std::size_t i = 0; i < f_count; ++i) {
        if (!(seen & (1u << i))) {
            return problem{reason::missing_field, field_names[i]};
        }
    }
    return std::nullopt;
}

}  // namespace adsx::events
