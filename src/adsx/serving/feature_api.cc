#include "adsx/serving/feature_api.h"

#include <cmath>
#include <variant>

#include <fmt/format.h>

#include "adsx/base/store_layout.h"
#include "adsx/base/strings.h"
#include "adsx/events/contract.h"
#include "adsx/features/tiles.h"
#include "adsx/features/update.h"
#include "adsx/privacy/tcf.h"

namespace adsx::serving {

namespace {

// A value the event contract accepts for `property`, or the 422 reply naming `field`.
std::optional<http::reply> refuse_id(std::string_view property, std::string_view id,
                                     std::string_view field = "id")
{
    const auto& c = events::contract::ad_event();
    const auto& rules = c.properties()[*c.index_of(property)];
    std::optional<events::reason> broken;
    if (rules.type == events::json_type::integer) {
        const auto v = parse_int(id);
        broken = v ? rules.broken(*v) : std::optional(events::reason::invalid_value);
    } else {
        broken = rules.broken(id);
    }
    if (!broken) {
        return std::nullopt;
    }
    return http::error_reply(
        422, "invalid_argument",
        fmt::format("{} is not a valid {} ({})", json_quote(id), property, events::name(*broken)),
        field);
}

// The as-of time asked for (default: now), or the 422 reply saying why it cannot be served:
// the windows of an earlier time are gone once the store's minute tiles have moved past it.
std::variant<std::int64_t, http::reply> as_of_of(std::string_view query, std::int64_t now_ms,
                                                 std::int64_t newest_ms)
{
    const auto text = http::query_param(query, "as_of");
    if (!text) {
        return now_ms;
    }
    const auto v = parse_int(*text);
    if (!v || *v <= 0) {
        return http::error_reply(422, "invalid_argument",
                                 "as_of must be a time in ms since the epoch", "as_of");
    }
    const auto kept = features::minute_tiles.width_ms * features::minute_tiles.slots;
    if (newest_ms > 0 && *v < newest_ms - kept) {
        return http::error_reply(
            422, "invalid_argument",
            fmt::format("as_of {} is more than {} min before the newest event ({}): the online "
                        "store no longer holds its windows",
                        *v, kept / minute_ms, newest_ms),
            "as_of");
    }
    return *v;
}

std::string value_json(std::string_view v)
{
    if (auto d = parse_double(v); d && std::isfinite(*d)) {
        return fmt::format("{}", *d);  // shortest text that reads back as the same double
    }
    return json_quote(v);
}

// "features": {...} and "as_of" of the fields {batch}{prefix}<name> of `h`.
std::string batch_group_json(const features::hash_fields& h, std::string_view prefix)
{
    const std::string asof_field =
        fmt::format("{}{}{}", store_layout::fields_batch, prefix, store_layout::fields_asof);
    std::string values;
    const std::string start = std::string(store_layout::fields_batch) + std::string(prefix);
    for (auto it = h.lower_bound(start); it != h.end() && it->first.starts_with(start); ++it) {
        const std::string_view name = std::string_view(it->first).substr(start.size());
        if (name == store_layout::fields_asof || name.find(':') != std::string_view::npos) {
            continue;  // the as-of time, or a slice's field
        }
        values += fmt::format("{}{}:{}", values.empty() ? "" : ",", json_quote(name),
                              value_json(it->second));
    }
    const auto asof = features::field_ms(h, asof_field);
    return fmt::format("{{\"as_of\":{},\"features\":{{{}}}", asof ? std::to_string(*asof) : "null",
                       values);
}

// {"ios": {"as_of", "features"}, …} of the slices of one kind (device_slice or geo_slice).
std::string slices_json(const features::hash_fields& h, std::string_view kind)
{
    const std::string start = std::string(store_layout::fields_batch) + std::string(kind);
    std::string out;
    std::string last;
    for (auto it = h.lower_bound(start); it != h.end() && it->first.starts_with(start); ++it) {
        const auto rest = std::string_view(it->first).substr(start.size());
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos || rest.substr(0, colon) == last) {
            continue;
        }
        last = std::string(rest.substr(0, colon));
        const auto prefix = std::string(kind) + last + ":";
        out += fmt::format("{}{}:{}}}", out.empty() ? "" : ",", json_quote(last),
                           batch_group_json(h, prefix));
    }
    return "{" + out + "}";
}

std::string freshness_json(std::int64_t now_ms, std::int64_t newest_ms)
{
    return fmt::format("\"newest_event\":{},\"freshness_s\":{}", newest_ms,
                       static_cast<double>(now_ms - newest_ms) / 1000.0);
}

// One entity's hash in one read: 503 when the store fails, 404 when absent, 422 for an as_of
// the store no longer holds; else 200 with body(fields, as_of, freshness members).
template <class Body>
http::reply read_entity(features::online_reader& reader, const adsx::clock& clock,
                        const std::string& key, std::string_view what, std::string_view query,
                        Body body)
{
    const auto h = reader.hashes({key});
    if (!h) {
        return http::error_reply(h.error());
    }
    const auto& fields = h->front();
    if (fields.empty()) {
        return http::error_reply(404, "not_found", fmt::format("no online features for {}", what),
                                 "id");
    }
    const auto now = clock.now_ms();
    const auto newest = features::newest_ms(fields);
    const auto as_of = as_of_of(query, now, newest);
    if (const auto* r = std::get_if<http::reply>(&as_of)) {
        return *r;
    }
    const auto t = std::get<std::int64_t>(as_of);
    return http::json_reply(200, body(fields, t, freshness_json(now, newest)));
}

}  // namespace

std::string batch_json(const features::hash_fields& h, bool with_slices)
{
    const std::string batch(store_layout::fields_batch);
    auto first = h.lower_bound(batch);
    if (first == h.end() || !first->first.starts_with(batch)) {
        return "null";
    }
    auto out = batch_group_json(h, "");
    if (with_slices) {
        out += ",\"by_device\":" + slices_json(h, store_layout::fields_device_slice) +
               ",\"by_geo\":" + slices_json(h, store_layout::fields_geo_slice);
    }
    return out + "}";
}

feature_api::feature_api(features::online_reader& reader, const clock& clock)
  : _reader(reader), _clock(clock)
{
}

http::reply feature_api::ad(std::string_view id, std::string_view query) const
{
    if (auto bad = refuse_id("ad_id", id)) {
        return *bad;
    }
    return read_entity(
        _reader, _clock, features::ad_key(static_cast<std::uint32_t>(*parse_int(id))),
        fmt::format("ad {}", id), query,
        [&](const features::hash_fields& fields, std::int64_t t, const std::string& freshness) {
            return fmt::format("{{\"ad_id\":{},\"as_of\":{},{},\"stream\":{},\"batch\":{}}}", id, t,
                               freshness, features::to_json(features::ad_features_of(fields, t)),
                               batch_json(fields, true));
        });
}

http::reply feature_api::user(std::string_view id, std::string_view query) const
{
    if (auto bad = refuse_id("user_id", id)) {
        return *bad;
    }
    if (const auto consent = http::query_param(query, "consent")) {
        // As the stream engine decides (privacy/consent_cache.h): undecodable allows nothing.
        const auto c = privacy::decode_tc_string(*consent);
        if (auto bad = refuse_id("consent", *consent, "consent")) {
            return *bad;
        }
        if (!c || !privacy::allows_personalisation(*c)) {
            return http::json_reply(
                200, fmt::format("{{\"user_id\":{},\"personalisation\":false}}", json_quote(id)));
        }
    }
    return read_entity(
        _reader, _clock, features::user_key(id), fmt::format("user {}", id), query,
        [&](const features::hash_fields& fields, std::int64_t t, const std::string& freshness) {
            return fmt::format("{{\"user_id\":{},\"personalisation\":true,"
                               "\"as_of\":{},{},\"stream\":{},\"batch\":{}}}",
                               json_quote(id), t, freshness,
                               features::to_json(features::user_features_of(fields, t)),
                               batch_json(fields, false));
        });
}

}  // namespace adsx::serving
