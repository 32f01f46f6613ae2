#pragma once
// A user's state for one campaign (frequency capping, recency per user × campaign and
// user × ad), packed into one field `c{campaign}` of the user's hash `u:{user}`, with an index
// field `cs` of the campaigns present. One key per user instead of one per user × campaign:
// a live stream brings about three new campaigns per user, and each key costs Redis a read, a
// write and a TTL of its own (measured: the user × campaign keys were over half of Redis's time).
//
//   user_campaign s;  add_event(s, ad, type, t);      // a batch's delta
//   merge(held, s, ttl_ms);  format_user_campaign(held) -> "li:lc:lv|tile:i:c:v,…|ad:li:lc:lv,…"
//
// The rules keep a field bounded and make the state a function of the events alone, whatever
// the batches they came in (the stream's crash test compares states byte for byte):
//   - hour tiles: only those within 26 tiles of the campaign's newest (windows up to 24 h);
//   - recency (the campaign's and each ad's): only times within `ttl` of the campaign's newest
//     event time; older ones read as never;
//   - the whole campaign leaves the hash (`prune`) once the user's newest event is more than
//     2 × ttl past the campaign's. A later event for it (at most the allowed lateness, which must
//     be below ttl, behind the user's newest) then finds every older entry beyond the ttl
//     horizon, so a pruned and an unpruned state agree.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adsx/events/event.h"
#include "adsx/features/tiles.h"

namespace adsx::features {

// Newest event time per event type (impression, click, conversion); 0 = none.
using recency = std::array<std::int64_t, 3>;

struct ad_recency
{
    std::uint32_t ad;
    recency last;
    friend bool operator==(const ad_recency&, const ad_recency&) = default;
};

struct user_campaign
{
    recency last{};
    std::vector<tile_value> hours;  // ascending tile ids
    std::vector<ad_recency> ads;    // ascending ad ids
    [[nodiscard]] std::int64_t newest() const noexcept;
    friend bool operator==(const user_campaign&, const user_campaign&) = default;
};

void add_event(user_campaign& s, std::uint32_t ad, events::event_type type,
               std::int64_t event_time_ms);
// Adds `delta` into `into` and applies the horizon rules (see above).
void merge(user_campaign& into, const user_campaign& delta, std::int64_t ttl_ms);

[[nodiscard]] std::optional<user_campaign> parse_user_campaign(std::string_view v);
[[nodiscard]] std::string format_user_campaign(const user_campaign& s);
[[nodiscard]] std::string campaign_field(std::uint32_t campaign);  // "c17"

// The `cs` index: each campaign in the hash and its newest event time, ascending by campaign.
using campaign_index = std::vector<std::pair<std::uint32_t, std::int64_t>>;
[[nodiscard]] std::optional<campaign_index> parse_campaign_index(std::string_view v);
[[nodiscard]] std::string format_campaign_index(const campaign_index& idx);
void touch(campaign_index& idx, std::uint32_t campaign, std::int64_t newest_ms);
// Removes and returns the campaigns whose newest event is more than 2 × ttl before `user_newest`.
[[nodiscard]] std::vector<std::uint32_t> prune(campaign_index& idx, std::int64_t user_newest_ms,
                                               std::int64_t ttl_ms);

}  // namespace adsx::features
