#pragma once
// The feature store's key cache (feature_store.h, with `user_cache` > 0): the worker remembers
// the stream fields of the keys it wrote, so a key it meets again is not read again (step 1
// reads only new ones, whole, with HGETALL).
//   - Users: sound because only the owning worker writes a user's stream fields; they are
//     dropped when partitions change hands (forget_owned). Anything else that changes or
//     deletes a user's stream fields (an erasure) must INCR `adsx:stream:user-epoch`: every
//     commit watches and reads it, and a new value empties the user cache. Bounded by two
//     generations: when the young one is full it becomes the old one, and the old one goes.
//   - Shared keys (ads, campaigns): only while no other worker commits. Step 1 reads the
//     shared writes' counter; if it still holds the value this worker's last EXEC left (INCR's
//     reply), no other commit applied since, and the shared keys are as this worker left them.
//     A commit that finds the counter moved drops them (and reads again if it relied on them);
//     the next commit reads with HMGET, and the one after remembers again once the counter
//     holds still. One worker thus never reads them again; several read them as before.
// An entry is kept only while its key surely lives: the worker knows when it last set the
// key's TTL (a newly remembered key always gets one) and refreshes it at least hourly. A write
// updates remembered entries in place (one lookup per key and commit); if its EXEC did not
// apply, they are marked past their life, so that they are read again. A key read whole is
// remembered only once its EXEC applied.
//
// One commit's use (transaction.h drives it; users are always read through it, so that a
// commit without a cache keeps what it read for the one write):
//   c.begin(now_ms);                                  // each attempt's step 1
//   if (!c.remembered(kind, key)) { /* HGETALL key */ }
//   if (!c.holds(epoch, shared_writes)) { /* read again */ }
//   c.begin_write(has_shared_keys);                   // step 2, per key in step 1's order:
//   auto* e = c.next_remembered(kind);  if (!e) e = &c.remember(kind, key, hgetall_reply);
//   c.applied(incr_reply);  or  c.refused();          // once EXEC answered
// Not thread-safe: one per store.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "adsx/features/stream_store.h"
#include "adsx/features/user_state.h"
#include "adsx/redis/client.h"
#include "adsx/redis/field_list.h"

namespace adsx::redis {

// A key's stream fields as last written, and until when (wall ms) the key surely lives.
struct cached_key
{
    field_list fields;
    features::campaign_index campaigns;  // a user's, derived from its campaign fields
    std::int64_t lives_until_ms = 0;
};

class key_cache
{
public:
    // `users`: users remembered (0: none past its commit; at most as many shared keys);
    // `ttl_ms`: the TTL the store gives every key.
    key_cache(std::size_t users, std::int64_t ttl_ms) : _users(users), _ttl_ms(ttl_ms) {}

    [[nodiscard]] bool enabled() const noexcept { return _users > 0; }

    // Step 1 of an attempt at a commit, at wall time `now_ms`.
    void begin(std::int64_t now_ms);
    // Whether this commit's shared keys are served from memory (else read with HMGET).
    [[nodiscard]] bool shared_from_memory() const noexcept { return _shared_from_memory; }
    // Whether `key` is remembered: nothing to read (its entry is this commit's); else the
    // caller reads it whole (HGETALL), and an entry past its key's life is dropped.
    [[nodiscard]] bool remembered(features::key_kind kind, const std::string& key);
    // What step 1 read of `adsx:stream:user-epoch` and the shared writes' counter: drops what
    // they show out of date; false when this commit relied on some of it (read again).
    [[nodiscard]] bool holds(std::optional<std::string> user_epoch, std::int64_t shared_writes);

    // Step 2: the write of the keys, in the order step 1 met them.
    void begin_write(bool has_shared_keys);
    // The next key's entry if step 1 found it remembered (a hit), else null: the caller then
    // passes its HGETALL reply to remember().
    [[nodiscard]] cached_key* next_remembered(features::key_kind kind);
    // A key read whole (a miss): its entry, remembered once the write applies.
    [[nodiscard]] cached_key& remember(features::key_kind kind, const std::string& key,
                                       const reply& whole);
    // Whether a remembered key's TTL is due for its hourly refresh; the write set its TTL now.
    [[nodiscard]] bool ttl_due(const cached_key& k) const noexcept;
    void ttl_set(cached_key& k) const noexcept { k.lives_until_ms = _now_ms + _ttl_ms; }

    // The write applied (`shared_writes`: INCR's reply, the counter this commit left): the
    // keys it read whole are remembered.
    void applied(std::optional<std::int64_t> shared_writes);
    // The write did not apply: the remembered entries it updated are marked past their life,
    // and the keys it read whole are not remembered.
    void refused();
    // Partitions changed hands, or whether a write applied is unknown: nothing is remembered.
    void forget_owned();
    // A user this commit deletes (not among its keys): no longer remembered.
    void forget_user(const std::string& key)
    {
        _young.erase(key);
        _old.erase(key);
    }

    // Running totals, and what is held now (the bytes: estimated from a sample of the entries,
    // exact while there are at most ~1k).
    [[nodiscard]] features::cache_counts counts(features::key_kind kind) const noexcept;

    using key_map = std::unordered_map<std::string, cached_key>;
    // The memory a map's entries take, counted over about `sampled` of them and scaled.
    [[nodiscard]] static std::size_t bytes_of(const key_map& m,
                                              std::size_t sampled = 1024) noexcept;

private:
    [[nodiscard]] static std::size_t index(features::key_kind k) noexcept
    {
        return static_cast<std::size_t>(k);
    }
    // The entry of `key` in `m` or `old` (moved into `m`), or null.
    [[nodiscard]] cached_key* find_alive(const std::string& key, key_map& m, key_map* old);
    void keep_staged();

    std::size_t _users;
    std::int64_t _ttl_ms;
    key_map _young, _old;                     // the user cache's two generations
    key_map _shared;                          // shared keys, while no other worker writes them
    key_map _spare;                           // makes the nodes of newly remembered keys
    std::vector<key_map::node_type> _staged;  // users the write in flight read whole, as it
                                              // leaves them (map nodes: no copy on keeping)
    std::vector<key_map::node_type> _staged_shared;  // shared keys it read whole
    // Per key of the commit met by remembered(), in order: its entry (null: read whole). Valid
    // until the commit's write is settled; nothing rotates or clears the maps before that.
    std::vector<cached_key*> _cached;
    std::size_t _next = 0;                        // into _cached, during the write
    std::array<bool, 2> _relied{};                // by kind: some key of this commit not read
    std::optional<std::string> _epoch;            // user_epoch_key's value the cache is valid for
    std::optional<std::int64_t> _shared_version;  // the counter after this worker's last commit
    bool _trust_shared = false;        // the last commit found no other commit since ours
    bool _shared_from_memory = false;  // this commit's shared keys: remembered or HMGET
    std::int64_t _now_ms = 0;          // wall time of the commit being built
    std::array<features::cache_counts, 2> _counts{};  // by kind
};

}  // namespace adsx::redis
