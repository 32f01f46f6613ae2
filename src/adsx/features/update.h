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
//   u:{user}          `own`: recency (newest impression, click, conversion); `mb{p}`, `hb{p}`:
//                     minute and hour tiles in blocks -> engagement over 5 min / 1 h / 24 h;
//                     per campaign `c{campaign}`: hour tiles (frequency per hour and day),
//                     recency for the campaign and each of its ads
//                     (user_state.h)   [personalisation consent only: an event without it
//                     deletes the user's key, so a withdrawn consent removes what was held]
// Ad and campaign hashes also keep `asof`, the newest event time they reflect; a user's is
// the newest of its recency. Ad-level keys count every event, consented or not. (DESIGN §4
// names a key per user × campaign, `uc:{user}:{c}`, and a field per tile slot: packed, a
// user's write is one HSET of a few small arguments, see user_state.h.)
//
// Two kinds of keys, written differently (redis/feature_store.h): `shared` keys (ads, campaigns)
// receive events from every partition, so every worker's commit guards them; `user` keys only
// from the partition their user is keyed to, so only the worker owning it writes them.
#include <string>
#include <unordered_map>
#include <vector>

#include "adsx/base/hash_index.h"
#include "adsx/base/ids.h"
#include "adsx/events/event.h"
#include "adsx/features/tiles.h"
#include "adsx/features/user_state.h"

namespace adsx::features {

struct tile_add
{
    std::string field;  // the slot's field, e.g. "m17" or "d:ios:m17"
    std::int64_t tile;
    counts delta;
    std::size_t field_hash = 0;  // of `field`: a hot ad's fields are looked up per event
};

struct max_field
{
    std::string field;
    std::int64_t value;
};

struct key_update
{
    std::vector<tile_add> tiles;  // one entry per slot field, holding the newest tile
    // Into tiles, by field: a hot ad in a large batch spans hundreds of minute × device and
    // geo slots; a scan is cheaper below 8.
    scan_or_index<8> tile_index;
    std::vector<max_field> maxes;  // keep the larger of stored and given
    // User keys: this batch's delta of the user's recency (field `own`), tile blocks (fields
    // `mb{p}`, `hb{p}`) and per campaign (fields `c{campaign}`); their tiles and maxes stay
    // empty.
    user_own own;
    std::vector<block_add> blocks;
    std::vector<std::pair<std::uint32_t, user_campaign>> campaigns;
    // A user whose newest event in the batch does not allow personalisation (consent
    // withdrawn, or erased): the key is deleted and nothing else of it is written. Events of
    // the user before the withdrawal are dropped with it; consented events after it in the
    // same batch are not kept (the next batch starts the user afresh).
    bool withdrawn = false;
    [[nodiscard]] bool is_user() const noexcept { return !campaigns.empty(); }
};

using key_updates = std::unordered_map<std::string, key_update>;

// The two kinds of keys (above): written by the worker owning the user's partition, or by every
// worker.
enum class key_kind : std::uint8_t
{
    user,
    shared
};

class batch_update
{
public:
    batch_update() = default;
    batch_update(const batch_update&) = delete;  // its id indexes point into its own keys
    batch_update& operator=(const batch_update&) = delete;
    batch_update(batch_update&&) noexcept = default;
    batch_update& operator=(batch_update&&) noexcept = default;

    void add(const events::event& e, bool personalised);

    [[nodiscard]] const key_updates& shared_keys() const noexcept { return _shared; }
    // Users written, and users withdrawn (key_update::withdrawn: their keys are deleted).
    [[nodiscard]] const key_updates& user_keys() const noexcept { return _user; }
    [[nodiscard]] std::size_t events() const noexcept { return _events; }
    [[nodiscard]] std::int64_t max_event_time() const noexcept { return _max_event_time; }
    void clear();

private:
    // Finds (or adds) the key of an ad or a campaign, named by the id's type, through an
    // index by id: an event names them by number, cheaper to hash than the key's name.
    key_update& shared_key(ad_id id) { return shared_key(store_layout::keys_ad, id, _ads); }
    key_update& shared_key(campaign_id id)
    {
        return shared_key(store_layout::keys_campaign, id, _campaigns);
    }
    template <class Id>
    key_update& shared_key(std::string_view prefix, Id id,
                           std::unordered_map<Id, key_update*>& index);

    key_updates _shared;
    key_updates _user;
    std::unordered_map<ad_id, key_update*> _ads;  // into _shared's nodes
    std::unordered_map<campaign_id, key_update*> _campaigns;
    std::size_t _events = 0;
    std::int64_t _max_event_time = 0;
    std::string _name, _dim, _field;  // scratch for key and field names
};

[[nodiscard]] std::string ad_key(std::uint32_t ad);
[[nodiscard]] std::string campaign_key(std::uint32_t campaign);
[[nodiscard]] std::string user_key(std::string_view user);

}  // namespace adsx::features
