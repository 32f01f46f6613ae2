#pragma once
// The Redis online store of the stream engine (implements features::stream_store): entity
// hashes with tile rings, recency and as-of fields (users' packed, features/user_state.h);
// per-partition offsets and watermarks, and the partitions' request logs (features/
// request_log.h), under the key names of keys.h.
//
// A commit is two round trips, atomic through optimistic locking (the second may be left in
// flight, `pipelined`, while the worker prepares the next batch; settle() reads it back):
//   1. WATCH the batch's partition offsets, `adsx:stream:shared-writes`, a counter every
//      commit increments, and `adsx:stream:user-epoch`, which an erasure increments (so that
//      a user erased between this read and the EXEC is not written back); read the fields the
//      batch merges into (HMGET) of the shared keys (ads, campaigns: every partition writes
//      them), and the user keys whole (HGETALL: the campaign index that pruning needs is
//      derived from all the campaign fields, features/user_state.h), unless remembered (the
//      key cache, key_cache.h). A partition whose stored offset is not the expected one is
//      stale: nothing is written.
//   2. Merge here (features::merge_tile, keep-max, the packed user fields: key_write.h) and
//      send only plain commands: MULTI; HSET and EXPIRE per key; request logs; the new offsets
//      and watermarks; INCR of the counter; EXEC. The transaction goes out in parts while it
//      is encoded, so Redis parses and queues one part while the worker encodes the next.
// transaction.h encodes both steps (exactly, command by command); this class sends them, reads
// the replies and retries.
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
// Single-node Redis: a transaction spans keys of many hash slots, which Redis Cluster refuses;
// a cluster deployment would shard the batch by slot with one offset per shard (not built).
// Not thread-safe: one store per worker thread.
//
//   auto s = redis::feature_store::open(host, port, {.ttl = 48h, .user_cache = 200'000}, clock);
//   features::engine e(*s, dlq, ad_known, personalised, clock, settings);
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adsx/base/time.h"
#include "adsx/config/config.h"
#include "adsx/features/stream_store.h"
#include "adsx/redis/client.h"
#include "adsx/redis/key_cache.h"
#include "adsx/redis/keys.h"

namespace adsx::redis {

struct feature_store_settings
{
    std::chrono::seconds ttl = std::chrono::hours(config::stream_config{}.ttl_hours);  // every key
    std::size_t user_cache = 0;  // users remembered (0: read every commit)
};

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
    // Keys served from memory (hits) and read whole to be remembered (misses).
    [[nodiscard]] features::cache_counts key_cache(features::key_kind kind) const override
    {
        return _cache.counts(kind);
    }

    [[nodiscard]] connection& conn() noexcept { return _conn; }
    // Tests: `f` runs between each commit's read (step 1) and its write, to interleave
    // another client.
    void between_read_and_write(std::function<void()> f) { _between = std::move(f); }

private:
    feature_store(connection c, feature_store_settings s, const clock& clock);
    // Step 1 of an attempt: false when the key cache dropped keys it relied on (read again;
    // not a conflict).
    [[nodiscard]] result<bool> read(const std::vector<features::partition_commit>& partitions,
                                    const features::batch_update& batch);
    // Step 2: encodes the transaction and sends it (in parts); returns how many commands were
    // sent, whose replies written() reads.
    [[nodiscard]] result<std::size_t> write(
        const std::vector<features::partition_commit>& partitions,
        const features::batch_update& batch);
    // Reads the transaction's replies: false when EXEC found a watched key changed (nothing
    // applied).
    [[nodiscard]] result<bool> written(std::size_t commands);
    [[nodiscard]] result<void> idle() const;  // an error while a write is in flight
    [[nodiscard]] result<void> unwatch();

    connection _conn;
    feature_store_settings _s;
    const clock* _clock;          // a pointer: the store moves
    resp_writer _out;             // reused between commits, as are the replies
    std::vector<reply> _read;     // of step 1
    std::vector<reply> _written;  // of step 2
    std::string _scratch;
    std::size_t _in_flight = 0;  // commands of a pipelined write not yet read back
    class key_cache _cache;
    std::function<void()> _between;  // tests' hook, see between_read_and_write
};

// The stream's online store on the configured Redis: this class on one server, or
// cluster_store.h's on Redis Cluster ([redis] mode; it keeps no key cache, so
// stream.user_cache does not apply there).
[[nodiscard]] result<std::unique_ptr<features::stream_store>> open_stream_store(
    const config::config& cfg, const clock& clock);

}  // namespace adsx::redis
