#pragma once
// A user's state in the online store, in few fields of the user's hash `u:{user}`, each write
// of a user the same small size however long the user has been active:
//   - `own`: the user's recency ("li:lc:lv": newest impression, click, conversion);
//   - `mb{p}`, `hb{p}`: the user's engagement tiles in blocks (below);
//   - `c{campaign}`: per campaign the user saw, frequency (hour tiles) and recency for the
//     campaign and each of its ads ("li:lc:lv|tile:i:c:v,…|ad:li:lc:lv,…"). One field per
//     campaign rather than a key per user × campaign: a live stream brings about three new
//     campaigns per user, and each key costs Redis a read, a write and a TTL of its own.
// Blocks: field `mb{p}` holds the minute tiles ("tile:i:c:v,…") of one aligned block of 10
// minutes, `hb{p}` the hour tiles of one block of 6 hours, p = block % ring. The tile ring's
// rule (tiles.h) at block granularity: a newer block resets the field, an add for an older one
// than it holds is dropped. 7 minute blocks hold any 60 consecutive minutes, 6 hour blocks any
// 26 hours: what windows up to 1 h / 24 h as of the user's newest event read. A field per tile,
// as ads have, costs Redis ~70 B a field once a hash outgrows its compact encoding (86 fields a
// user). One packed field of all tiles, as `own` was before, grows with the user's history: a
// user active every minute of the last hour and every hour of the day held 86 tiles there
// (1.6 kB), and parsing, merging and formatting it took ~10 µs a write, 15 times a new
// user's; blocks take ~1 µs at any age.
// Which campaigns a hash holds, and each one's newest event (what `prune` needs), is not
// stored: the writer derives that index from the campaign fields (campaign_newest) and keeps
// it with the user in memory. Stored in `own`, it was rewritten with every event of the user,
// and it grows with the user's campaigns: a fifth of Redis's CPU in the stream benchmark.
//
//   user_own o;  add_event(o, type, t);  merge(held, o);          // a batch's recency
//   std::vector<block_add> b;  add_event(b, minute_blocks, type, t);  merge_block(held, b[0]);
//   user_campaign s;  add_event(s, ad, type, t);  merge(held, s, ttl_ms);
//
// The rules keep the fields bounded and make the state a function of the events alone,
// whatever the batches they came in (the stream's crash test compares states byte for byte):
//   - blocks: the ring rule above;
//   - a campaign's hour tiles: only those within 26 of its newest event;
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
// The user's recency: field `own`.
struct user_own
{
    recency last{};
    [[nodiscard]] std::int64_t newest() const noexcept;  // the user's `asof`
    friend bool operator==(const user_own&, const user_own&) = default;
};

inline constexpr std::string_view own_field = store_layout::fields_own;

void add_event(user_own& s, events::event_type type, std::int64_t event_time_ms);
void merge(user_own& into, const user_own& delta);  // the newer time of each type

// "li:lc:lv". Also reads what earlier versions wrote ("li:lc:lv|minute tiles|hour tiles",
// perhaps with a fourth part): their tiles are ignored.
[[nodiscard]] std::optional<user_own> parse_user_own(std::string_view v);
[[nodiscard]] std::string format_user_own(const user_own& s);

// A ring of tile blocks (above).
struct tile_blocks
{
    tile_spec tiles;
    std::string_view prefix;  // of the block fields: "mb", "hb"
    int per_block;            // tiles per block
    int ring;                 // fields
};
inline constexpr tile_blocks minute_blocks{
    minute_tiles, store_layout::user_blocks_minute_prefix,
    static_cast<int>(store_layout::user_blocks_minute_per_block),
    static_cast<int>(store_layout::user_blocks_minute_ring)};
inline constexpr tile_blocks hour_blocks{hour_tiles, store_layout::user_blocks_hour_prefix,
                                         static_cast<int>(store_layout::user_blocks_hour_per_block),
                                         static_cast<int>(store_layout::user_blocks_hour_ring)};

// A batch's tiles of one block field: the newest block the batch has for the field.
struct block_add
{
    std::string field;  // "mb3"
    std::int64_t block;
    int per_block;
    std::vector<tile_value> tiles;  // ascending
    friend bool operator==(const block_add&, const block_add&) = default;
};

[[nodiscard]] std::string block_field(std::int64_t block, const tile_blocks& b);  // "mb3"
// Counts one event into the batch's block adds (the ring rule within the batch).
void add_event(std::vector<block_add>& adds, const tile_blocks& b, events::event_type type,
               std::int64_t event_time_ms);
// The field's value after `add` ("tile:i:c:v,…"), given what it holds (none: nothing, or
// unreadable); none when it holds a newer block (the add is dropped).
[[nodiscard]] std::optional<std::string> merge_block(std::optional<std::string_view> held,
                                                     const block_add& add);
// A block field's tiles (ascending), none when unreadable.
[[nodiscard]] std::optional<std::vector<tile_value>> parse_block(std::string_view v);

void touch(campaign_index& idx, std::uint32_t campaign, std::int64_t newest_ms);
// Removes and returns the campaigns whose newest event is more than 2 × ttl before `user_newest`.
[[nodiscard]] std::vector<std::uint32_t> prune(campaign_index& idx, std::int64_t user_newest_ms,
                                               std::int64_t ttl_ms);

}  // namespace adsx::features
