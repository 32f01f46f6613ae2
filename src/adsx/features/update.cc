#include "adsx/features/update.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>

#include "adsx/base/strings.h"

namespace adsx::features {

using events::event_type;

namespace {

key_update& key_of(key_updates& keys, const std::string& name)
{
    if (auto it = keys.find(name); it != keys.end()) {
        return it->second;
    }
    return keys.try_emplace(name).first->second;  // copies the name only for a new key
}

tile_add* tile_in(key_update& k, const std::string& field, std::size_t hash)
{
    auto at = k.tile_index.find(
        k.tiles.size(), [&] { return hash; },
        [&](std::uint32_t i) {
            return k.tiles[i].field_hash == hash && k.tiles[i].field == field;
        });
    return at ? &k.tiles[*at] : nullptr;
}

// The ring rule applied within the batch: one entry per slot field, holding the newest tile.
// An older tile for a slot the batch already moved on is superseded anyway; sending both would
// let the order of fields in one write decide (a batch spans partitions, which may be hours
// apart in event time).
void add_tile(key_update& k, std::string_view dim, tile_spec s, std::int64_t t, const counts& d,
              std::string& scratch)
{
    const auto id = tile_of(t, s);
    scratch.assign(dim);
    scratch += s.prefix;
    append_int(scratch, slot_of(id, s));
    const auto hash = std::hash<std::string>{}(scratch);
    if (auto* a = tile_in(k, scratch, hash)) {
        if (a->tile == id) {
            a->delta += d;
        } else if (a->tile < id) {
            a->tile = id;
            a->delta = d;
        }
        return;
    }
    k.tiles.push_back({scratch, id, d, hash});
    k.tile_index.appended(k.tiles.size(), [&](std::uint32_t i) { return k.tiles[i].field_hash; });
}

void keep_max(key_update& k, std::string_view field, std::int64_t v)
{
    for (auto& m : k.maxes) {
        if (m.field == field) {
            m.value = std::max(m.value, v);
            return;
        }
    }
    k.maxes.push_back({std::string(field), v});
}

}  // namespace

std::string ad_key(std::uint32_t ad)
{
    return fmt::format("{}{}", store_layout::keys_ad, ad);
}
std::string campaign_key(std::uint32_t campaign)
{
    return fmt::format("{}{}", store_layout::keys_campaign, campaign);
}
std::string user_key(std::string_view user)
{
    return fmt::format("{}{}", store_layout::keys_user, user);
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

    // Names are built in scratch strings: a key or field is allocated only when new.
    auto& a = shared_key(ad_id{e.ad_id});
    add_tile(a, "", minute_tiles, t, d, _field);
    _dim.assign(store_layout::fields_device_slice).append(events::name(e.device)).append(":");
    add_tile(a, _dim, minute_tiles, t, d, _field);
    _dim.assign(store_layout::fields_geo_slice).append(e.geo).append(":");
    add_tile(a, _dim, minute_tiles, t, d, _field);
    keep_max(a, store_layout::fields_asof, t);
    auto& c = shared_key(campaign_id{e.campaign_id});
    add_tile(c, "", minute_tiles, t, d, _field);
    add_tile(c, "", hour_tiles, t, d, _field);
    keep_max(c, store_layout::fields_asof, t);
    _name.assign(store_layout::keys_user).append(e.user_id);
    auto& u = key_of(_user, _name);
    if (!personalised) {
        // No user-level state without personalisation consent, and none kept once it is
        // withdrawn: the user's key goes, with what this batch gathered for it.
        if (!u.withdrawn) {
            u = key_update{};
            u.withdrawn = true;
        }
        return;
    }
    if (u.withdrawn) {
        return;  // withdrawn earlier in this batch: the next batch starts the user afresh
    }
    add_event(u.own, e.type, t);
    add_event(u.blocks, minute_blocks, e.type, t);
    add_event(u.blocks, hour_blocks, e.type, t);
    auto uc = std::find_if(u.campaigns.begin(), u.campaigns.end(),
                           [&](const auto& x) { return x.first == e.campaign_id; });
    if (uc == u.campaigns.end()) {
        uc = u.campaigns.insert(uc, {e.campaign_id, {}});
    }
    add_event(uc->second, e.ad_id, e.type, t);
}

template <class Id>
key_update& batch_update::shared_key(std::string_view prefix, Id id,
                                     std::unordered_map<Id, key_update*>& index)
{
    auto [it, added] = index.try_emplace(id, nullptr);
    if (added) {
        _name.assign(prefix);
        append_int(_name, id.value);
        it->second = &key_of(_shared, _name);  // a node's address outlives rehashing
    }
    return *it->second;
}

void batch_update::clear()
{
    _ads.clear();
    _campaigns.clear();
    _shared.clear();
    _user.clear();
    _events = 0;
    _max_event_time = 0;
}

}  // namespace adsx::features
