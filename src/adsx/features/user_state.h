#pragma once
// A user's state in the online store, packed into few fields of the user's hash `u:{user}` so
// that a batch's write of a user is one HSET of a few arguments (Redis's cost is mostly per
// argument: parsing, the transaction queue, the AOF):
//   - `own`: the user's own engagement tiles and recency ("li:lc:lv|minute tiles|hour tiles");
//   - `c{campaign}`: per campaign the user saw, frequency (hour tiles) and recency for the
//     campaign and each of its ads ("li:lc:lv|tile:i:c:v,…|ad:li:lc:lv,…"). One field per
//     campaign rather than a key per user × campaign: a live stream brings about three new
//     campaigns per user, and each key costs Redis a read, a write and a TTL of its own.
// Which campaigns a hash holds, and each one's newest event (what `prune` needs), is not
// stored: the writer derives that index from the campaign fields (campaign_newest) and keeps
// it with the user in memory. Stored in `own`, it was rewritten with every event of the user,
// and it grows with the user's campaigns: a fifth of Redis's CPU in the stream benchmark.
//
//   user_own o;  add_event(o, type, t);  merge(held, o);          // a batch's delta
//   user_campaign s;  add_event(s, ad, type, t);  merge(held, s, ttl_ms);
//
// The rules keep the fields bounded and make the state a function of the events alone,
// whatever the batches they came in (the stream's crash test compares states byte for byte):
//   - tiles: only those within their ring's span of the newest event (minute tiles within 60
//     of it, hour tiles within 26): what any window up to 1 h / 24 h as of the newest reads;
//   - a campaign's recency (its own and each ad's): only times within `ttl` of the campaign's
//     newest event time; older ones read as never;
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

// The campaign of a field `c{campaign}`, or none (another field).
[[nodiscard]] std::optional<std::uint32_t> campaign_of_field(std::string_view field);
// The newest event time in a campaign field's value (its recency), without parsing the rest;
// none when unreadable.
[[nodiscard]] std::optional<std::int64_t> campaign_newest(std::string_view value);

// The campaign index: each campaign in the hash and its newest event time, ascending by
// campaign (derived from the campaign fields; maintained by the store's write: touch, prune).
using campaign_index = std::vector<std::pair<std::uint32_t, std::int64_t>>;
// The user's own state: field `own`.
struct user_own
{
    recency last{};
    std::vector<tile_value> minutes;                     // ascending tile ids
    std::vector<tile_value> hours;                       // ascending tile ids
    [[nodiscard]] std::int64_t newest() const noexcept;  // the user's `asof`
    friend bool operator==(const user_own&, const user_own&) = default;
};

inline constexpr std::string_view own_field = "own";

void add_event(user_own& s, events::event_type type, std::int64_t event_time_ms);
// Adds `delta`'s recency and tiles into `into` and keeps the tiles within their span of the
// newest event.
void merge(user_own& into, const user_own& delta);

[[nodiscard]] std::optional<user_own> parse_user_own(std::string_view v);
[[nodiscard]] std::string format_user_own(const user_own& s);

void touch(campaign_index& idx, std::uint32_t campaign, std::int64_t newest_ms);
// Removes and returns the campaigns whose newest event is more than 2 × ttl before `user_newest`.
[[nodiscard]] std::vector<std::uint32_t> prune(campaign_index& idx, std::int64_t user_newest_ms,
                                               std::int64_t ttl_ms);

}  // namespace adsx::features
