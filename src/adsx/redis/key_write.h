#pragma once
// One key of a commit (transaction.h): which of its fields step 1 reads, and what step 2 sends
// for it given their stored values. The merge happens here, in the worker, by the features
// rules (features::merge_tile, keep-max, the packed user fields of features/user_state.h), so
// that Redis runs plain commands only.
//
//   held_values held = …;   // the stored values of each_read_field's fields, in its order
//   bool expired = write_key(out, "a:7", update, held, ttl_s, false, nullptr);
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/features/update.h"
#include "adsx/redis/client.h"
#include "adsx/redis/field_list.h"

namespace adsx::redis {

// Calls f(field) for each field a key's update merges into, in the order write_key expects
// their stored values: tiles and keep-max fields (ads, campaigns), or `own`, the tile blocks'
// and the campaigns' fields (users).
template <typename F>
void each_read_field(const features::key_update& u, std::string& scratch, F&& f)
{
    for (const auto& t : u.tiles) {
        f(std::string_view(t.field));
    }
    for (const auto& m : u.maxes) {
        f(std::string_view(m.field));
    }
    if (u.is_user()) {
        f(features::own_field);
        for (const auto& b : u.blocks) {
            f(std::string_view(b.field));
        }
        for (const auto& c : u.campaigns) {
            scratch = features::campaign_field(c.first);
            f(std::string_view(scratch));
        }
    }
}

// A stored integer (an offset, `asof`), or `otherwise` when it is not exactly one.
[[nodiscard]] std::int64_t stored_int(std::string_view s, std::int64_t otherwise) noexcept;

[[nodiscard]] std::size_t read_field_count(const features::key_update& u);

// Step 1 for a key read by field: HMGET of each_read_field's fields.
void read_key(resp_writer& w, const std::string& name, const features::key_update& u,
              std::string& scratch);

// The stored values of the fields each_read_field names, in its order (none: no such field).
using held_values = std::vector<std::optional<std::string_view>>;

// An HMGET reply as held values (views into the reply).
void held_from_reply(const reply& r, held_values& held);

// A remembered key's fields, where each_read_field's fields are in them (none: absent), and a
// user's campaign index.
struct cached_fields
{
    field_list& fields;
    const std::vector<std::optional<std::uint32_t>>& at;
    features::campaign_index& campaigns;
};

// One key's write: HSET of what its update changes in the stored values `held` (the tile-ring
// rule, keep-max and the user × campaign merge), and an EXPIRE when the key's `asof` enters a
// new event-time hour, or it is new, or `refresh` says so: a key's TTL is refreshed at least
// hourly while it is active, so it expires between ttl − 1 h and ttl after its last event, for
// a command per key and batch less. Campaigns a user has left for 2 × ttl are deleted from the
// hash (HDEL). `cache`, when given, gets the same changes (a remembered key), its campaign
// index included (touch, prune; users are always remembered, if only for one commit: a user
// needs one). `held` may view into `cache`'s fields: it is read before they change.
// Returns whether an EXPIRE was sent.
bool write_key(resp_writer& w, const std::string& name, const features::key_update& u,
               const held_values& held, std::int64_t ttl_s, bool refresh, cached_fields* cache);

}  // namespace adsx::redis
