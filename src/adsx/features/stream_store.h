#pragma once
// The online store as the stream engine needs it: `stream_store`, a port (redis::feature_store
// in src/adsx/redis implements it on Redis, tests use a fake). Exactly-once effect: a poll batch
// is applied in one atomic step together with the offsets of the partitions it covers, as a
// compare-and-set on the offsets the worker holds for them. The partitions' request logs
// (request_log.h) are written in the same step. A worker that lost a partition in a rebalance
// (its stored offset moved on) is told which: it drops that partition's records, rebuilds the
// batch from the rest and commits again; nothing is counted twice.
#include <cstdint>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/request_log.h"
#include "adsx/features/update.h"

namespace adsx::features {

// Where a partition stands: the next offset to read and the watermark (newest event time
// applied), both advanced atomically with the features. offset -1 = never consumed.
// A store whose commit is several transactions (Redis Cluster: redis/feature_store.h) may
// find a batch applied by some of them only, after a crash between them: `replay_to` is then
// the last offset of that batch, which the engine commits again on its own before anything
// else of the partition; the transactions that had it skip it. -1: nothing to replay.
struct partition_state
{
    std::int64_t next_offset = -1;
    std::int64_t max_event_time = 0;
    std::int64_t replay_to = -1;
};

// One partition's part of a commit: where the worker believes it stands, and where the batch
// takes it.
struct partition_commit
{
    std::string partition_id;
    partition_state expected;
    partition_state next;
    log_writes requests;  // its request log's (request_log.h)
};

// Applied, or nothing written and the partitions whose stored state is not `expected`.
struct commit_outcome
{
    bool applied = false;
    bool pending = false;            // applied means sent: settle() tells whether it applied
    std::vector<std::size_t> stale;  // indices into the commit's partitions
};

// Keys of commits served from what a store remembers of them (hits), and read whole to be
// remembered (misses): running totals of one kind of key; and how many it remembers now, in
// how many bytes (keys, fields and their values, as held in memory).
struct cache_counts
{
    std::size_t hits = 0;
    std::size_t misses = 0;
    std::size_t keys = 0;
    std::size_t bytes = 0;
    friend bool operator==(const cache_counts&, const cache_counts&) = default;
};

class stream_store
{
public:
    virtual ~stream_store() = default;
    [[nodiscard]] virtual result<partition_state> load(const std::string& partition_id) = 0;
    // A partition's request log of one kind, buckets first..last (at most a few hundred):
    // each bucket's bytes as committed, empty where there are none.
    [[nodiscard]] virtual result<std::vector<std::string>> load_requests(
        const std::string& partition_id, follow_kind kind, std::int64_t first,
        std::int64_t last) = 0;
    // `pipelined`: the store may return once the write is sent, before it is acknowledged
    // (outcome.pending), so that the worker prepares the next batch while the store applies
    // this one; settle() must come before any other call.
    [[nodiscard]] virtual result<commit_outcome> commit(
        const std::vector<partition_commit>& partitions, const batch_update& batch,
        bool pipelined) = 0;
    // Whether the write in flight applied (true when there is none). False: nothing of it was
    // applied (another writer changed a key it read); commit the same batch again.
    [[nodiscard]] virtual result<bool> settle() = 0;
    // Partitions changed hands (or a commit found one taken): anything the store remembers of
    // the keys the worker owned may be out of date. Called with no write in flight.
    virtual void forget_owned() = 0;
    // What the store's key cache served so far, for one kind of key (zeros: it remembers none).
    [[nodiscard]] virtual cache_counts key_cache(key_kind kind) const = 0;
};

}  // namespace adsx::features
