#include "adsx/features/read.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "adsx/base/strings.h"
#include "adsx/base/time.h"
#include "adsx/features/user_state.h"

namespace adsx::features {

namespace {

std::int64_t to_int(const std::string& s)
{
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string counts_json(const counts& c)
{
    return "{\"impressions\":" + std::to_string(c.impressions) +
           ",\"clicks\":" + std::to_string(c.clicks) +
           ",\"conversions\":" + std::to_string(c.conversions) + "}";
}

std::string optional_json(const std::optional<double>& v)
{
    return v ? num(*v) : "null";
}

// A slot's number as its field spells it (std::to_string's spelling), below `slots`; nothing
// for any other spelling ("05", "+5", " 5").
std::optional<int> slot_number(std::string_view digits, int slots)
{
    const auto v = parse_int(digits);
    if (!v || *v < 0 || *v >= slots || std::to_string(*v) != digits) {
        return std::nullopt;
    }
    return static_cast<int>(*v);
}

std::optional<double> seconds_since(std::int64_t t, std::int64_t as_of_ms)
{
    if (t <= 0 || t > as_of_ms) {
        return std::nullopt;
    }
    return static_cast<double>(as_of_ms - t) / 1000.0;
}

}  // namespace

std::vector<tile_value> tiles_in(const hash_fields& h, tile_spec s, std::string_view dim)
{
    // The slots' fields ("{dim}{prefix}{slot}") are adjacent in the ordered hash: one walk over
    // those present, not a lookup per slot (60 string-compared lookups per slice were a third of
    // GET /features/ad's CPU). The tiles come out in slot order, as the lookups gave them.
    std::string first(dim);
    first += s.prefix;
    std::vector<std::pair<int, tile_value>> found;
    for (auto it = h.lower_bound(first); it != h.end() && it->first.starts_with(first); ++it) {
        const auto slot = slot_number(std::string_view(it->first).substr(first.size()), s.slots);
        if (!slot) {
            continue;
        }
        if (auto v = parse_tile(it->second)) {
            found.emplace_back(*slot, *v);
        }
    }
    std::ranges::sort(found, {}, &std::pair<int, tile_value>::first);
    std::vector<tile_value> out;
    out.reserve(found.size());
    for (const auto& [slot, v] : found) {
        out.push_back(v);
    }
    return out;
}

std::vector<tile_value> tiles_in(const hash_fields& h, const tile_blocks& b)
{
    std::vector<tile_value> out;
    for (int p = 0; p < b.ring; ++p) {
        auto it = h.find(block_field(p, b));
        if (it == h.end()) {
            continue;
        }
        if (auto tiles = parse_block(it->second)) {
            out.insert(out.end(), tiles->begin(), tiles->end());
        }
    }
    return out;
}

std::optional<std::int64_t> field_ms(const hash_fields& h, const std::string& f)
{
    auto it = h.find(f);
    if (it == h.end()) {
        return std::nullopt;
    }
    return to_int(it->second);
}

ad_features ad_features_of(const hash_fields& h, std::int64_t as_of_ms)
{
    const auto tiles = tiles_in(h, minute_tiles);
    ad_features f;
    f.as_of_ms = as_of_ms;
    f.last_5m = window_sum(tiles, minute_tiles, as_of_ms, 5 * minute_ms);
    f.last_1h = window_sum(tiles, minute_tiles, as_of_ms, 60 * minute_ms);
    f.ctr_5m = smoothed_ctr(f.last_5m.clicks, f.last_5m.impressions);
    f.ctr_1h = smoothed_ctr(f.last_1h.clicks, f.last_1h.impressions);
    f.impressions_per_minute = static_cast<double>(f.last_5m.impressions) / 5.0;
    const auto before = window_sum(tiles, minute_tiles, as_of_ms - 5 * minute_ms, 5 * minute_ms);
    f.trend = before.impressions ? static_cast<double>(f.last_5m.impressions) /
                                       static_cast<double>(before.impressions)
                                 : 0.0;
    // Slices: fields "d:{device}:m{slot}" and "g:{geo}:m{slot}" (schemas/online_store.json).
    // A slice's fields are adjacent in the ordered hash: each slice is read once, whether or not
    // its window holds anything (reading it again per field made a request cost fields × slots).
    std::string_view last_slice;
    for (const auto& [field, value] : h) {
        const bool device = field.starts_with(store_layout::fields_device_slice);
        const auto& prefix =
            device ? store_layout::fields_device_slice : store_layout::fields_geo_slice;
        if (!device && !field.starts_with(prefix)) {
            continue;
        }
        const auto end = field.find(':', prefix.size());
        if (end == std::string::npos) {
            continue;
        }
        const auto slice = std::string_view(field).substr(0, end + 1);
        if (slice == last_slice) {
            continue;
        }
        last_slice = slice;
        const auto name = field.substr(prefix.size(), end - prefix.size());
        auto& slices = device ? f.by_device : f.by_geo;
        const auto c = window_sum(tiles_in(h, minute_tiles, field.substr(0, end + 1)), minute_tiles,
                                  as_of_ms, 60 * minute_ms);
        if (c.impressions + c.clicks + c.conversions > 0) {
            slices[name] = {c, smoothed_ctr(c.clicks, c.impressions)};
        }
    }
    return f;
}

std::int64_t newest_ms(const hash_fields& h)
{
    if (auto asof = field_ms(h, std::string(store_layout::fields_asof))) {
        return *asof;
    }
    if (auto it = h.find(std::string(own_field)); it != h.end()) {
        if (auto own = parse_user_own(it->second)) {
            return own->newest();
        }
    }
    return 0;
}

user_features user_features_of(const hash_fields& h, std::int64_t as_of_ms)
{
    user_features f;
    f.as_of_ms = as_of_ms;
    user_own own;
    if (auto it = h.find(std::string(own_field)); it != h.end()) {
        own = parse_user_own(it->second).value_or(user_own{});
    }
    const auto minutes = tiles_in(h, minute_blocks);
    f.last_5m = window_sum(minutes, minute_tiles, as_of_ms, 5 * minute_ms);
    f.last_1h = window_sum(minutes, minute_tiles, as_of_ms, 60 * minute_ms);
    f.last_24h = window_sum(tiles_in(h, hour_blocks), hour_tiles, as_of_ms, 24 * 60 * minute_ms);
    f.engagement_5m = smoothed_ctr(f.last_5m.clicks, f.last_5m.impressions);
    f.engagement_1h = smoothed_ctr(f.last_1h.clicks, f.last_1h.impressions);
    f.engagement_24h = smoothed_ctr(f.last_24h.clicks, f.last_24h.impressions);
    f.seconds_since_impression = seconds_since(own.last[0], as_of_ms);
    f.seconds_since_click = seconds_since(own.last[1], as_of_ms);
    // Campaigns: fields "c{campaign}" (user_state.h).
    for (const auto& [field, value] : h) {
        const auto id = campaign_of_field(field);
        if (!id) {
            continue;
        }
        auto s = parse_user_campaign(value);
        if (!s) {
            continue;
        }
        campaign_features c;
        c.last_1h = window_sum(s->hours, hour_tiles, as_of_ms, 60 * minute_ms);
        c.last_24h = window_sum(s->hours, hour_tiles, as_of_ms, 24 * 60 * minute_ms);
        c.seconds_since_impression = seconds_since(s->last[0], as_of_ms);
        c.seconds_since_click = seconds_since(s->last[1], as_of_ms);
        if (c.last_24h.impressions + c.last_24h.clicks + c.last_24h.conversions > 0) {
            f.campaigns[*id] = c;
        }
    }
    return f;
}

namespace {

std::string slices_json(const std::map<std::string, slice_features>& slices)
{
    std::string out = "{";
    for (const auto& [name, s] : slices) {
        if (out.size() > 1) {
            out += ',';
        }
        out += json_quote(name) + ":{\"last_1h\":" + counts_json(s.last_1h) +
               ",\"ctr_1h\":" + num(s.ctr_1h) + "}";
    }
    return out + "}";
}

std::string campaigns_json(const std::map<std::uint32_t, campaign_features>& campaigns)
{
    std::string out = "{";
    for (const auto& [id, c] : campaigns) {
        if (out.size() > 1) {
            out += ',';
        }
        out += "\"" + std::to_string(id) + "\":{\"last_1h\":" + counts_json(c.last_1h) +
               ",\"last_24h\":" + counts_json(c.last_24h) +
               ",\"seconds_since_impression\":" + optional_json(c.seconds_since_impression) +
               ",\"seconds_since_click\":" + optional_json(c.seconds_since_click) + "}";
    }
    return out + "}";
}

}  // namespace

std::string to_json(const ad_features& f)
{
    return "{\"as_of\":" + std::to_string(f.as_of_ms) + ",\"last_5m\":" + counts_json(f.last_5m) +
           ",\"last_1h\":" + counts_json(f.last_1h) + ",\"ctr_5m\":" + num(f.ctr_5m) +
           ",\"ctr_1h\":" + num(f.ctr_1h) +
           ",\"impressions_per_minute\":" + num(f.impressions_per_minute) +
           ",\"trend\":" + num(f.trend) + ",\"by_device\":" + slices_json(f.by_device) +
           ",\"by_geo\":" + slices_json(f.by_geo) + "}";
}

std::string to_json(const user_features& f)
{
    return "{\"as_of\":" + std::to_string(f.as_of_ms) + ",\"last_5m\":" + counts_json(f.last_5m) +
           ",\"last_1h\":" + counts_json(f.last_1h) + ",\"last_24h\":" + counts_json(f.last_24h) +
           ",\"engagement_5m\":" + num(f.engagement_5m) +
           ",\"engagement_1h\":" + num(f.engagement_1h) +
           ",\"engagement_24h\":" + num(f.engagement_24h) +
           ",\"seconds_since_impression\":" + optional_json(f.seconds_since_impression) +
           ",\"seconds_since_click\":" + optional_json(f.seconds_since_click) +
           ",\"campaigns\":" + campaigns_json(f.campaigns) + "}";
}

}  // namespace adsx::features
