#include "adsx/events/codec.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <new>

#include <fmt/format.h>
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

// The event's members, in the order the encoder writes them; the contract's properties must be
// these, in this order (binds()).
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

std::string_view field_name(int f)
{
    return field_names[static_cast<std::size_t>(f)];
}

maybe_problem type_error(int f)
{
    return problem{reason::wrong_type, field_name(f)};
}

// The problem of a value keyword the value breaks (property_rules::broken), if any.
maybe_problem unless_broken(std::optional<reason> r, int f)
{
    return r ? maybe_problem(problem{*r, field_name(f)}) : std::nullopt;
}

// Values a string property accepted recently, kept verbatim, so that a value seen again (a
// consent string, a geo, a user agent, a placement: few distinct values in a stream) skips its
// keywords, PCRE2 patterns included. Only accepted values are kept, and a hit compares the
// whole text, so the verdict is the contract's. A property whose values rarely repeat (ids)
// stops looking after a trial, so it pays nothing.
class accepted_values
{
public:
    [[nodiscard]] bool contains(std::string_view s) noexcept
    {
        if (_off) {
            return false;
        }
        const auto at = slot_of(s);
        const bool hit = _values[at] == s || _values[at ^ 1] == s;
        _hits += hit;
        if (++_lookups == trial) {
            _off = _hits < trial / 4;
        }
        return hit;
    }
    void remember(std::string_view s)
    {
        if (_off) {
            return;
        }
        // Two places per value (slot_of's pair), the newer value in the first: a few values that
        // share a pair do not evict each other on every record.
        const auto at = slot_of(s);
        _values[at ^ 1].swap(_values[at]);
        _values[at].assign(s);
    }

private:
    static constexpr std::size_t slots = 256;
    static constexpr std::uint32_t trial = 4096;
    // The length and four bytes, mixed by a multiplication (no three of the generator's nine
    // geos share a pair).
    static std::size_t slot_of(std::string_view s) noexcept
    {
        if (s.empty()) {
            return 0;
        }
        const auto b = [&](std::size_t i) {
            return static_cast<std::uint64_t>(static_cast<unsigned char>(s[i]));
        };
        const std::uint64_t h = s.size() ^ b(0) << 8 ^ b(s.size() / 2) << 16 ^
                                b(s.size() - 1) << 24 ^ b(s.size() > 1 ? 1 : 0) << 32;
        return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ull) >> 56);  // top 8 bits
    }
    std::array<std::string, slots> _values;
    std::uint32_t _lookups = 0, _hits = 0;
    bool _off = false;
};

maybe_problem read_string(dom::element v, int f, const property_rules& p, std::string_view& out,
                          accepted_values* seen = nullptr)
{
    if (p.nullable && v.is_null()) {
        out = {};
        return std::nullopt;
    }
    if (v.get_string().get(out)) {
        return type_error(f);
    }
    if (seen && seen->contains(out)) {
        return std::nullopt;
    }
    auto problem = unless_broken(p.broken(out), f);
    if (!problem && seen) {
        seen->remember(out);
    }
    return problem;
}

template <class Int>
maybe_problem read_int(dom::element v, int f, const property_rules& p, Int& out)
{
    std::int64_t i = 0;
    if (v.get_int64().get(i)) {
        return type_error(f);
    }
    out = static_cast<Int>(i);  // binds() made sure the contract's range fits Int
    return unless_broken(p.broken(i), f);
}

maybe_problem read_number(dom::element v, int f, const property_rules& p, double& out)
{
    if (v.get_double().get(out)) {
        return type_error(f);
    }
    return unless_broken(p.broken(out), f);
}

// Whether parse_uuid alone decides the contract's rules for a member: its only rule is the
// pattern of the texts parse_uuid accepts.
bool parse_uuid_decides(const property_rules& p)
{
    return p.matches && p.matches->text() == uuid_pattern && p.one_of.empty() && !p.min_length &&
           !p.max_length && !p.nullable;
}

maybe_problem read_uuid(dom::element v, int f, const property_rules& p, uuid& out,
                        bool parse_decides)
{
    std::string_view s;
    if (parse_decides) {
        if (v.get_string().get(s)) {
            return type_error(f);
        }
    } else if (auto problem = read_string(v, f, p, s)) {
        return problem;
    }
    auto id = parse_uuid(s);
    if (!id) {
        return problem{p.reason_of(keyword::pattern), field_name(f)};  // held the pattern
    }
    out = *id;
    return std::nullopt;
}

// event_type and device: the contract's enum names the C++ enum's values (binds()), so when the
// enum is the member's only rule, parsing the name decides it.
bool parse_enum_decides(const property_rules& p)
{
    return !p.min_length && !p.max_length && !p.matches && !p.nullable;
}

maybe_problem read_enum(dom::element v, int f, const property_rules& p, event& e,
                        bool parse_decides)
{
    std::string_view s;
    if (parse_decides) {
        if (v.get_string().get(s)) {
            return type_error(f);
        }
    } else if (auto problem = read_string(v, f, p, s)) {
        return problem;
    }
    bool named = false;
    if (f == f_event_type) {
        auto t = parse_event_type(s);
        named = t.has_value();
        e.type = t.value_or(e.type);
    } else {
        auto d = parse_device(s);
        named = d.has_value();
        e.device = d.value_or(e.device);
    }
    return named ? std::nullopt
                 : maybe_problem(problem{p.reason_of(keyword::one_of), field_name(f)});
}

// What the decoder learnt of each member's rules: values they accepted, whether parsing the
// member (parse_uuid, the enum's names) decides them.
struct member_memo
{
    accepted_values accepted;
    bool parse_decides = false;
};

maybe_problem read_field(int f, dom::element v, const property_rules& p, event& e,
                         std::array<member_memo, f_count>& memos)
{
    auto& m = memos[static_cast<std::size_t>(f)];
    auto* memo = &m.accepted;
    int ignored_version = 0;
    switch (f) {
        case f_schema_version:
            return read_int(v, f, p, ignored_version);
        case f_event_id:
            return read_uuid(v, f, p, e.event_id, m.parse_decides);
        case f_event_type:
        case f_device:
            return read_enum(v, f, p, e, m.parse_decides);
        case f_event_time:
            return read_int(v, f, p, e.event_time_ms);
        case f_user_id:
            return read_string(v, f, p, e.user_id, memo);
        case f_ad_id:
            return read_int(v, f, p, e.ad_id);
        case f_campaign_id:
            return read_int(v, f, p, e.campaign_id);
        case f_advertiser_id:
            return read_int(v, f, p, e.advertiser_id);
        case f_request_id:
            return read_uuid(v, f, p, e.request_id, m.parse_decides);
        case f_geo:
            return read_string(v, f, p, e.geo, memo);
        case f_placement:
            return read_string(v, f, p, e.placement, memo);
        case f_slot:
            return read_int(v, f, p, e.slot);
        case f_bid:
            return read_number(v, f, p, e.bid);
        case f_price:
            return read_number(v, f, p, e.price);
        case f_revenue:
            return read_number(v, f, p, e.revenue);
        case f_experiment:
            return read_string(v, f, p, e.experiment, memo);
        case f_arm:
            return read_string(v, f, p, e.arm, memo);
        case f_consent:
            return read_string(v, f, p, e.consent, memo);
        case f_ip:
            return read_string(v, f, p, e.ip, memo);
        case f_user_agent:
            return read_string(v, f, p, e.user_agent, memo);
        default:
            return type_error(f);
    }
}

// The range an integer member holds.
std::pair<std::int64_t, std::int64_t> member_range(int f)
{
    switch (f) {
        case f_event_time:
            return {INT64_MIN, INT64_MAX};
        case f_ad_id:
        case f_campaign_id:
        case f_advertiser_id:
            return {0, 0xffffffffLL};
        default:
            return {INT_MIN, INT_MAX};
    }
}

json_type member_type(int f)
{
    switch (f) {
        case f_schema_version:
        case f_event_time:
        case f_ad_id:
        case f_campaign_id:
        case f_advertiser_id:
        case f_slot:
            return json_type::integer;
        case f_bid:
        case f_price:
        case f_revenue:
            return json_type::number;
        default:
            return json_type::string;
    }
}

template <std::size_t N>
bool same_names(const std::vector<std::string>& a, const std::array<std::string_view, N>& b)
{
    return a.size() == N && std::is_permutation(a.begin(), a.end(), b.begin());
}

// What the contract says of member f must be something the member can hold.
result<void> binds_member(int f, const property_rules& p)
{
    const auto name = field_name(f);
    if (p.name != name || p.type != member_type(f)) {
        return fail(error_code::invalid_argument,
                    fmt::format("property {} of the contract is not the event's member {} (its "
                                "type and order must be the encoder's)",
                                p.name, name));
    }
    const auto [lo, hi] = member_range(f);
    const bool fits = p.const_int || ((p.min_int ? *p.min_int >= lo : lo == INT64_MIN) &&
                                      (p.max_int ? *p.max_int <= hi : hi == INT64_MAX));
    if (p.type == json_type::integer && !fits) {
        return fail(error_code::invalid_argument,
                    fmt::format("{}: the contract's minimum and maximum must lie within [{}, {}]",
                                name, lo, hi));
    }
    if (p.nullable && f != f_experiment && f != f_arm) {
        return fail(error_code::invalid_argument, fmt::format("{} cannot be null", name));
    }
    if ((f == f_event_type && !same_names(p.one_of, event_type_names())) ||
        (f == f_device && !same_names(p.one_of, device_names()))) {
        return fail(error_code::invalid_argument,
                    fmt::format("{}: the contract's enum must be the C++ enum's names", name));
    }
    return {};
}

}  // namespace

result<void> binds(const contract& c)
{
    if (c.properties().size() != f_count) {
        return fail(error_code::invalid_argument,
                    fmt::format("the contract has {} properties, the event {} members",
                                c.properties().size(), static_cast<int>(f_count)));
    }
    for (int f = 0; f < static_cast<int>(f_count); ++f) {
        if (auto ok = binds_member(f, c.properties()[static_cast<std::size_t>(f)]); !ok) {
            return ok;
        }
    }
    return {};
}

struct decoder::impl
{
    const contract* rules = nullptr;
    dom::parser parser;
    std::string buffer;                     // input copied with simdjson's padding
    std::vector<std::string_view> unknown;  // of the record: members the contract does not name
    std::array<member_memo, f_count> memos;

    // The verdict of an object's members (the contract's order, see its description).
    std::optional<problem> check(dom::object obj, event& out);
};

namespace {

const contract& checked_built_in()
{
    static const bool bound = [] {
        if (auto ok = binds(contract::ad_event()); !ok) {
            std::fprintf(stderr, "the built-in event contract does not fit the decoder: %s\n",
                         ok.error().message.c_str());
            std::abort();
        }
        return true;
    }();
    (void)bound;
    return contract::ad_event();
}

}  // namespace

decoder::decoder() : decoder(checked_built_in()) {}

decoder::decoder(const contract& c) : _impl(std::make_unique<impl>())
{
    _impl->rules = &c;
    for (int f : {f_event_id, f_request_id, f_event_type, f_device}) {
        const auto i = static_cast<std::size_t>(f);
        const auto& p = c.properties()[i];
        _impl->memos[i].parse_decides =
            f == f_event_id || f == f_request_id ? parse_uuid_decides(p) : parse_enum_decides(p);
    }
    // simdjson's limit is one more than the deepest nesting it accepts; growing for a longer
    // record keeps it.
    if (_impl->parser.allocate(64 * 1024, static_cast<std::size_t>(c.max_depth()) + 1)) {
        throw std::bad_alloc();
    }
}

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
    return _impl->check(obj, out);
}

std::optional<problem> decoder::impl::check(dom::object obj, event& out)
{
    const auto& props = rules->properties();
    unknown.clear();
    std::uint32_t seen = 0;
    std::optional<problem> first;  // of the property earliest in the contract's order
    int first_at = static_cast<int>(f_count);
    int f = -1;
    for (auto [key, v] : obj) {
        f = field_index(key, static_cast<std::size_t>(f + 1));
        if (f < 0) {
            if (std::find(unknown.begin(), unknown.end(), key) != unknown.end()) {
                return problem{reason::malformed_json, key};  // a member given twice
            }
            unknown.push_back(key);
            continue;
        }
        if (seen & (1u << f)) {
            return problem{reason::malformed_json, key};
        }
        seen |= 1u << f;
        if (f < first_at) {
            if (auto p = read_field(f, v, props[static_cast<std::size_t>(f)], out, memos)) {
                first = p;
                first_at = f;
            }
        }
    }
    for (int i = 0; i < first_at; ++i) {
        if (!(seen & (1u << i)) && props[static_cast<std::size_t>(i)].required) {
            return problem{reason::missing_field, field_name(i)};
        }
    }
    if (first) {
        return first;
    }
    if (!unknown.empty()) {
        return problem{reason::invalid_value, unknown.front()};
    }
    return std::nullopt;
}

}  // namespace adsx::events
