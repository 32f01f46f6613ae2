#pragma once
// The online store on Redis Cluster (implements features::stream_store, as feature_store.h does
// on one server; `adsx stream` uses it when [redis] mode = "cluster"): the same hashes and
// fields, each under a hash tag (keys.h), and the same exactly-once effect, though Redis
// Cluster runs a transaction within one hash slot only. The argument for it:
// docs/stream-engine.md, "On Redis Cluster".
//
// A commit is:
//   1. one transaction per shard, all 16 at once (also those without a key of the batch: each
//      holds its own copy of the batch's partitions' offsets, which all advance), each on a
//      connection of its own with feature_store's two round trips: WATCH the shard's offsets,
//      counter and user epoch and read (transaction.h, with the shard's scope), then MULTI, the
//      merged writes, the offsets, INCR, EXEC. A shard whose EXEC is refused (another worker
//      wrote one of its shared keys) is read, merged and written again on its own.
//   2. once every shard has the batch, one transaction per partition under the partition's
//      tag: its request log, and its own offsets and watermark, the ones load() returns.
// A partition's log is thus never ahead of a shard. A crash part-way leaves the log at the
// batch's start and some shards at its end: load() returns the log's offset and watermark and
// replay_to = the batch's last offset; the engine commits that batch again on its own, which
// the shards that have it skip (their offset is at or past its end) and the others apply.
//
// Every offsets hash also holds a claim. load() writes the worker's (a random token) into all
// of the partition's offsets hashes, each in a transaction that reads the hash too, so a
// commit of a worker that lost the partition is stale on every hash claimed since, and what it
// applied before is in the state load() read. Without it, it could still land a batch on the
// shards the new owner had not written yet, cut at other offsets than the new owner's.
//
// No key cache (every commit reads its keys), no pipelining (commit returns once applied). A
// slot moving under a commit fails it (MOVED): restarted, the worker resumes from the offsets.
// Not thread-safe: one store per worker thread.
//
//   auto s = redis::cluster_store::open({{"127.0.0.1", 7000}}, 48h);
//   features::engine e(*s, dlq, ad_known, personalised, clock, settings);
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "adsx/features/stream_store.h"
#include "adsx/redis/cluster.h"

namespace adsx::redis {

class cluster_store final : public features::stream_store
{
public:
    [[nodiscard]] static result<cluster_store> open(std::vector<node_address> seeds,
                                                    std::chrono::seconds ttl);

    [[nodiscard]] result<features::partition_state> load(const std::string& partition_id) override;
    [[nodiscard]] result<std::vector<std::string>> load_requests(const std::string& partition_id,
                                                                 features::follow_kind kind,
                                                                 std::int64_t first,
                                                                 std::int64_t last) override;
    [[nodiscard]] result<features::commit_outcome> commit(
        const std::vector<features::partition_commit>& partitions,
        const features::batch_update& batch, bool pipelined) override;
    [[nodiscard]] result<bool> settle() override { return true; }
    void forget_owned() override {}
    [[nodiscard]] features::cache_counts key_cache(features::key_kind) const override { return {}; }

    // Tests: `f(tag)` runs before each transaction's write is sent (the shards' in their
    // order, then the partitions' logs); true stops the commit there as a crash would: the
    // writes sent before apply, the rest never does, and the commit fails. Use the store no
    // more after that.
    void stop_before_write(std::function<bool(const std::string& tag)> f)
    {
        _stop_before = std::move(f);
    }
    // Tests: claim partitions under another token from now on (another worker).
    void claim_as(std::string token) { _claim = std::move(token); }

    struct transaction;

private:
    cluster_store(cluster c, std::chrono::seconds ttl, std::string claim)
      : _cluster(std::move(c)), _ttl(ttl), _claim(std::move(claim))
    {
    }
    // The connection of a tag's transactions: to the master of its slot, one per tag (WATCH
    // is per connection).
    [[nodiscard]] result<connection*> conn(const std::string& tag);
    // Runs the transactions until each applied or found its batch applied already; returns
    // the partitions (indices into the commit's) found stale, none applied in that round.
    [[nodiscard]] result<std::vector<std::size_t>> run(std::vector<transaction>& txs);
    // Step 1 of each (WATCH and reads), all sent before any reply is read.
    [[nodiscard]] result<void> read_all(const std::vector<transaction*>& txs);
    // Step 2 of each (MULTI … EXEC), likewise; a refused one stays to be run again.
    [[nodiscard]] result<void> write_all(std::vector<transaction*> txs);

    cluster _cluster;
    std::chrono::seconds _ttl;
    std::string _claim;
    std::map<std::string, connection> _conns;  // by tag
    std::string _scratch;
    std::function<bool(const std::string&)> _stop_before;
};

}  // namespace adsx::redis
