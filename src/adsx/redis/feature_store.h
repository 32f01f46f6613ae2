#pragma once
// The Redis online store (implements features::stream_store): entity hashes with tile rings,
// recency and as-of fields (users' packed, features/user_state.h); per-partition offsets and
// watermarks in `off:{partition}` hashes; the partitions' request logs (features/request_log.h)
// in strings `rq:{partition}:{i|c}:{bucket}` of 8-byte fingerprints, which a commit APPENDs to
// and UNLINKs once its watermark leaves them behind (their TTL, the features', only collects
// what a partition nobody consumes any more leaves). `{partition}` is the engine's partition id,
// `{group}:{topic}:{number}`.
//
// A commit is two round trips, atomic through optimistic locking (the second may be left in
// flight, `pipelined`, while the worker prepares the next batch; settle() reads it back):
//   1. WATCH the batch's partition offsets, `adsx:stream:shared-writes`, a counter every
//      commit increments, and `adsx:stream:user-epoch`, which an erasure increments (so that
//      a user erased between this read and the EXEC is not written back); read the fields the batch
//      merges into (HMGET) of the shared keys (ads, campaigns: every partition writes them), and
//      the user keys whole (HGETALL: the campaign index that pruning needs is derived from all the
//      campaign fields, features/user_state.h), unless remembered (key cache, below). A partition
//      whose stored offset is not the expected one is stale: nothing is written.
//   2. Merge here (features::merge_tile, keep-max, the packed user fields) and send only plain
//      commands: MULTI; HSET and EXPIRE per key; request logs; the new offsets and watermarks;
//      INCR of the counter; EXEC. The transaction goes out in parts while it is encoded, so
//      Redis parses and queues one part while the worker encodes the next.
// If a watched key changed in between (another worker committed, or took a partition over)
// EXEC applies nothing and the commit starts again. The counter stands for the shared keys:
// watching them instead costs Redis quadratic time in their number (it checks each WATCH
// against the connection's list: 3 ms a batch for 600 keys), and nearly every batch of
// another worker writes some of them anyway. (The daily job's writes of `b.` fields into the
// same hashes are not counted: they never touch the stream's fields.) User keys are not
// watched either: only the worker owning a user's partition writes them, which the engine
// guarantees by dead-lettering records not keyed by their user (reason `wrong_key`); when a
// partition changes hands, its watched offset makes the old owner's EXEC fail. (Adding
// partitions to a live topic moves users between partitions: drain the workers first.)
// Merging in the worker rather than in a Lua script is the point: Redis then runs native
// commands only (a script's redis.call costs several times the command it wraps); see
// bench/stream.py for what it bought.
//
// Key cache (`user_cache` > 0): the worker remembers the stream fields of the keys it wrote,
// so a key it meets again is not read again (step 1 reads only new ones, whole, with HGETALL).
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
// Single-node Redis: a transaction spans keys of many hash slots, which Redis Cluster refuses;
// a cluster deployment would shard the batch by slot with one offset per shard (not built).
// Not thread-safe: one store per worker thread.
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "adsx/base/store_layout.h"
#include "adsx/base/time.h"
#include "adsx/features/stream_store.h"
#include "adsx/redis/client.h"
#include "adsx/redis/field_list.h"

namespace adsx::redis {

struct feature_store_settings
{
    std::chrono::seconds ttl{48 * 3600};  // every feature key (and request log)
    std::size_t user_cache = 0;           // users remembered (0: read every commit)
};

// Whoever changes or deletes user keys' stream fields besides the stream (an erasure) INCRs it.
inline constexpr std::string_view user_epoch_key = adsx::store_layout::keys_user_epoch;

class feature_store final : public features::stream_store
{
public:
    // `clock`: wall time, which the key cache's lifetimes follow (Redis's TTLs run on it); it
    // must outlive the store.
    [[nodiscard]] static result<feature_store> open(const std::string& host, int port,
                                                    feature_store_settings s, const clock& clock);

    [[nodiscard]] result<features::partition_state> load(const std::string& partition_id) override;
    [[nodiscard]] result<std::vector<std::string>> load_requests(const std::string& partition_id,
                                                                 features::follow_kind kind,
                                                                 std::int64_t first,
                                                                 std::int64_t last) override;
    [[nodiscard]] result<features::commit_outcome> commit(
        const std::vector<features::partition_commit>& partitions,
        const features::batch_update& batch, bool pipelined) override;
    [[nodiscard]] result<bool> settle() override;
    void forget_owned() override;

    // Cache statistics: keys served from memory (hits) and read whole to be remembered.
    [[nodiscard]] std::size_t user_hits() const noexcept { return _hits[0]; }
    [[nodiscard]] std::size_t user_misses() const noexcept { return _misses[0]; }
    [[nodiscard]] std::size_t shared_hits() const noexcept { return _hits[1]; }
    [[nodiscard]] std::size_t shared_misses() const noexcept { return _misses[1]; }

    [[nodiscard]] connection& conn() noexcept { return _conn; }
    // Tests: `f` runs between each commit's read (step 1) and its write, to interleave
    // another client.
    void between_read_and_write(std::function<void()> f) { _between = std::move(f); }

private:
    feature_store(connection c, feature_store_settings s, const clock& clock)
      : _conn(std::move(c)), _s(s), _clock(&clock)
    {
    }
    // Step 2 of a commit: encodes the transaction and sends it (in parts, through _out);
    // returns how many commands were sent, whose replies written() reads.
    [[nodiscard]] result<std::size_t> write(
        const std::vector<features::partition_commit>& partitions,
        const features::batch_update& batch, const std::vector<reply>& read);
    // Reads the transaction's replies: false when EXEC found a watched key changed (nothing
    // applied).
    [[nodiscard]] result<bool> written(std::size_t commands);
    [[nodiscard]] result<void> idle() const;  // an error while a write is in flight

    // A key's stream fields as last written, and until when (wall ms) the key surely lives.
    struct cached_key
    {
        field_list fields;
        features::campaign_index campaigns;  // a user's, derived from its campaign fields
        std::int64_t lives_until_ms = 0;
    };
    using key_map = std::unordered_map<std::string, cached_key>;
    // Step 1 for a key that may be remembered (in `m` or `old`): nothing to read if it is
    // (_cached gets its entry, moved into `m` if it was in `old`; returns true), else HGETALL
    // (_cached gets null; an entry past its key's life is dropped).
    bool read_or_remember(const std::string& key, key_map& m, key_map* old);
    // The write did not apply: the remembered entries it updated (_cached) are marked past
    // their life, and the keys it read whole (staged) are not remembered.
    void forget_written();
    void keep_staged();  // the write applied: the keys it read whole into memory

    connection _conn;
    feature_store_settings _s;
    const clock* _clock;          // a pointer: the store moves
    resp_writer _out;             // reused between commits, as are the replies
    std::vector<reply> _read;     // of step 1
    std::vector<reply> _written;  // of step 2
    std::string _scratch;
    std::size_t _in_flight = 0;               // commands of a pipelined write not yet read back
    key_map _young, _old;                     // the user cache's two generations
    std::vector<key_map::node_type> _staged;  // users the write in flight read whole, as it
                                              // leaves them (map nodes: no copy on keeping)
    key_map _shared;                          // shared keys, while no other worker writes them
    std::vector<key_map::node_type> _staged_shared;  // shared keys it read whole
    key_map _spare;                                  // makes the nodes of newly remembered keys
    // Per remembered-kind key of the commit, in order: its entry (null: read whole). Valid
    // until the commit's write is settled; nothing rotates or clears the maps before that.
    std::vector<cached_key*> _cached;
    std::optional<std::string> _epoch;            // user_epoch_key's value the cache is valid for
    std::optional<std::int64_t> _shared_version;  // the counter after this worker's last commit
    bool _trust_shared = false;        // the last commit found no other commit since ours
    bool _shared_from_memory = false;  // this commit's shared keys: remembered or HGETALL
    std::int64_t _now_ms = 0;          // wall time of the commit being built
    std::array<std::size_t, 2> _hits{}, _misses{};  // users, shared keys
    std::function<void()> _between;                 // tests' hook, see between_read_and_write
};

[[nodiscard]] std::string offset_key(const std::string& partition_id);
// A partition's request log bucket.
[[nodiscard]] std::string request_log_key(const std::string& partition_id, features::follow_kind k,
                                          std::int64_t bucket);

}  // namespace adsx::redis
