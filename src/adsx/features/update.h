#pragma once
// The feature rules: what one event does to the online store, combined per key over a batch
// so that hot keys (popular ads) cost one write per batch, not one per event.
//
//   batch_update b;
//   for (auto& e : valid_events) b.add(e, personalisation_allowed(e));
//   store.commit(partitions, b);
//
// Keys (one Redis hash per entity, DESIGN §4):
//   a:{ad}            minute tiles (imp/clk/conv) -> 5-min and 1-h CTR, popularity and trend;
//                     the same per device (`d:ios:m17`) and per geo (`g:US-CA:m17`)
//   c:{campaign}      minute and hour tiles
//   u:{user}          minute and hour tiles -> engagement over 5 min / 1 h / 24 h;
//                     last_imp, last_clk, last_conv (recency)   [personalisation consent only]
//   uc:{user}:{camp}  hour tiles -> frequency per hour and day; last_imp/last_clk/last_conv for
//                     the campaign and, per ad of it, `last_imp:{ad}`… (recency per user × ad:
//                     an ad belongs to one campaign, so the key stays small)  [consent only]
// Every hash also keeps `asof`: the newest event time it reflects. Ad-level keys count every
// event, consented or not.
//
// Two kinds of keys, written differently (redis/online_store.h): `shared` keys (ads, campaigns)
// receive events from every partition, so they are merged inside Redis; `user` keys only from
// the partition their user is keyed to, so the worker owning it merges them itself.
#include <string>
#include <unordered_map>
#include <vector>

#include "adsx/events/event.h"
#include "adsx/features/tiles.h"

namespace adsx::features {

struct tile_add
{
    std::string field;  // the slot's field, e.g. "m17" or "d:ios:m17"
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
    std::vector<tile_add> tiles;   // one entry per slot field, holding the newest tile
    std::vector<max_field> maxes;  // keep the larger of stored and given
};

using key_updates = std::unordered_map<std::string, key_update>;

class batch_update
{
public:
    void add(const events::event& e, bool personalised);
    // Impression request ids this batch introduces (clicks and conversions refer to them).
    void remember_request(const events::uuid& request_id) { _requests.push_back(request_id); }

    [[nodiscard]] const key_updates& shared_keys() const noexcept { return _shared; }
    [[nodiscard]] const key_updates& user_keys() const noexcept { return _user; }
    [[nodiscard]] const std::vector<events::uuid>& requests() const noexcept { return _requests; }
    [[nodiscard]] std::size_t events() const noexcept { return _events; }
    [[nodiscard]] std::int64_t max_event_time() const noexcept { return _max_event_time; }
    void clear();

private:
    key_updates _shared;
    key_updates _user;
    std::vector<events::uuid> _requests;
    std::size_t _events = 0;
    std::int64_t _max_event_time = 0;
    std::string _name, _dim, _field;  // scratch for key and field names
};

[[nodiscard]] std::string ad_key(std::uint32_t ad);
[[nodiscard]] std::string campaign_key(std::uint32_t campaign);
[[nodiscard]] std::string user_key(std::string_view user);
[[nodiscard]] std::string user_campaign_key(std::string_view user, std::uint32_t campaign);

}  // namespace adsx::features
