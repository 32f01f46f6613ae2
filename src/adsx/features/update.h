#pragma once
// The feature rules: what one event does to the online store, combined per key over a batch
// so that hot keys (popular ads) cost one write per batch, not one per event.
//
//   batch_update b;
//   for (auto& e : valid_events) b.add(e, personalisation_allowed(e));
//   store.commit(partition, expected_offset, next_offset, watermark, b);
//
// Keys (one Redis hash per entity, DESIGN §4):
//   a:{ad}            minute tiles (imp/clk/conv) -> 5-min and 1-h CTR, popularity and trend
//   c:{campaign}      minute and hour tiles
//   ad:{ad}:d:{dev}   minute tiles -> CTR per ad × device
//   ad:{ad}:g:{geo}   minute tiles -> CTR per ad × geo
//   u:{user}          minute and hour tiles -> engagement over 5 min / 1 h / 24 h;
//                     last_imp, last_clk (recency)            [personalisation consent only]
//   uc:{user}:{camp}  hour tiles (impressions) -> frequency per hour and day; last_imp
//                                                             [personalisation consent only]
//   ua:{user}:{ad}    last_imp, last_clk (recency per user × ad)      [consent only]
// Every hash also keeps `asof`: the newest event time it reflects. Ad-level keys count every
// event, consented or not.
#include <string>
#include <unordered_map>
#include <vector>

#include "adsx/events/event.h"
#include "adsx/features/tiles.h"

namespace adsx::features {

struct tile_add
{
    tile_spec spec;
    std::int64_t tile;
    counts delta;
};

struct max_field
{
    std::string field;
    std::int64_t value;
};

struct key_update
{
    std::vector<tile_add> tiles;   // one entry per (granularity, tile)
    std::vector<max_field> maxes;  // keep the larger of stored and given
};

class batch_update
{
public:
    void add(const events::event& e, bool personalised);
    // Impression request ids this batch introduces (clicks and conversions refer to them).
    void remember_request(const events::uuid& request_id) { _requests.push_back(request_id); }

    [[nodiscard]] const std::unordered_map<std::string, key_update>& keys() const noexcept
    {
        return _keys;
    }
    [[nodiscard]] const std::vector<events::uuid>& requests() const noexcept { return _requests; }
    [[nodiscard]] std::size_t events() const noexcept { return _events; }
    [[nodiscard]] std::int64_t max_event_time() const noexcept { return _max_event_time; }
    void clear();

private:
    key_update& key(std::string name);
    void tile(key_update& k, tile_spec s, std::int64_t t, const counts& d);
    void keep_max(key_update& k, std::string_view field, std::int64_t v);

    std::unordered_map<std::string, key_update> _keys;
    std::vector<events::uuid> _requests;
    std::size_t _events = 0;
    std::int64_t _max_event_time = 0;
};

[[nodiscard]] std::string ad_key(std::uint32_t ad);
[[nodiscard]] std::string campaign_key(std::uint32_t campaign);
[[nodiscard]] std::string user_key(std::string_view user);
[[nodiscard]] std::string user_campaign_key(std::string_view user, std::uint32_t campaign);
[[nodiscard]] std::string user_ad_key(std::string_view user, std::uint32_t ad);
[[nodiscard]] std::string ad_device_key(std::uint32_t ad, events::device_type d);
[[nodiscard]] std::string ad_geo_key(std::uint32_t ad, std::string_view geo);

}  // namespace adsx::features
