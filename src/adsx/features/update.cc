#include "adsx/features/update.h"

#include <algorithm>

namespace adsx::features {

using events::event_type;

std::string ad_key(std::uint32_t ad)
{
    return "a:" + std::to_string(ad);
}
std::string campaign_key(std::uint32_t campaign)
{
    return "c:" + std::to_string(campaign);
}
std::string user_key(std::string_view user)
{
    return "u:" + std::string(user);
}
std::string user_campaign_key(std::string_view user, std::uint32_t campaign)
{
    return "uc:" + std::string(user) + ":" + std::to_string(campaign);
}
std::string user_ad_key(std::string_view user, std::uint32_t ad)
{
    return "ua:" + std::string(user) + ":" + std::to_string(ad);
}
std::string ad_device_key(std::uint32_t ad, events::device_type d)
{
    return "ad:" + std::to_string(ad) + ":d:" + std::string(events::name(d));
}
std::string ad_geo_key(std::uint32_t ad, std::string_view geo)
{
    return "ad:" + std::to_string(ad) + ":g:" + std::string(geo);
}

key_update& batch_update::key(std::string name)
{
    return _keys[std::move(name)];
}

void batch_update::tile(key_update& k, tile_spec s, std::int64_t t, const counts& d)
{
    // The ring rule applied within the batch: one entry per slot, holding the newest tile. An
    // older tile for a slot the batch already moved on is superseded anyway; sending both would
    // let the order of fields in one write decide (a batch spans partitions, which may be hours
    // apart in event time).
    const auto id = tile_of(t, s);
    for (auto& a : k.tiles) {
        if (a.spec.prefix != s.prefix || slot_of(a.tile, s) != slot_of(id, s)) {
            continue;
        }
        if (a.tile == id) {
            a.delta += d;
        } else if (a.tile < id) {
            a = {s, id, d};
        }
        return;
    }
    k.tiles.push_back({s, id, d});
}

void batch_update::keep_max(key_update& k, std::string_view field, std::int64_t v)
{
    for (auto& m : k.maxes) {
        if (m.field == field) {
            m.value = std::max(m.value, v);
            return;
        }
    }
    k.maxes.push_back({std::string(field), v});
}

void batch_update::add(const events::event& e, bool personalised)
{
    const auto t = e.event_time_ms;
    counts d;
    d.impressions = e.type == event_type::impression;
    d.clicks = e.type == event_type::click;
    d.conversions = e.type == event_type::conversion;
    ++_events;
    _max_event_time = std::max(_max_event_time, t);

    for (auto* k : {&key(ad_key(e.ad_id)), &key(ad_device_key(e.ad_id, e.device)),
                    &key(ad_geo_key(e.ad_id, e.geo))}) {
        tile(*k, minute_tiles, t, d);
        keep_max(*k, "asof", t);
    }
    auto& c = key(campaign_key(e.campaign_id));
    tile(c, minute_tiles, t, d);
    tile(c, hour_tiles, t, d);
    keep_max(c, "asof", t);
    if (!personalised) {
        return;  // no user-level state without personalisation consent
    }
    const char* last = e.type == event_type::impression ? "last_imp"
                       : e.type == event_type::click    ? "last_clk"
                                                        : "last_conv";
    auto& u = key(user_key(e.user_id));
    tile(u, minute_tiles, t, d);
    tile(u, hour_tiles, t, d);
    keep_max(u, last, t);
    keep_max(u, "asof", t);
    auto& ua = key(user_ad_key(e.user_id, e.ad_id));
    keep_max(ua, last, t);
    keep_max(ua, "asof", t);
    if (e.type == event_type::impression) {
        auto& uc = key(user_campaign_key(e.user_id, e.campaign_id));
        tile(uc, hour_tiles, t, d);
        keep_max(uc, "last_imp", t);
        keep_max(uc, "asof", t);
    }
}

void batch_update::clear()
{
    _keys.clear();
    _requests.clear();
    _events = 0;
    _max_event_time = 0;
}

}  // namespace adsx::features
