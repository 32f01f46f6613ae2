#pragma once
// A commit's two requests (the protocol: feature_store.h), encoded as RESP. Pure: no
// connection; what it sends goes through a part_sink, so that the feature store streams it to
// Redis and tests record it (tests/transaction_test.cc asserts the exact commands).
//
// Step 1, encode_read: WATCH the batch's partition offsets, `adsx:stream:shared-writes` and
// `adsx:stream:user-epoch`; HMGET of each offset's next and wm; with the key cache, MGET of
// the epoch and the counter; then per key what the batch merges into: shared keys' fields
// (HMGET), or, when the cache serves shared keys, nothing if remembered else the key whole
// (HGETALL); users whole (HGETALL: the campaign index that pruning needs is derived from all
// the campaign fields, features/user_state.h) unless remembered. Replies, in order: WATCH's,
// the offsets', the MGET's (with the cache), then the keys read, shared keys first.
//
// Step 2, encode_write: MULTI; per key its HSET, HDEL and EXPIRE (key_write.h), shared keys
// first, in step 1's order; per partition its request log's APPENDs, each with an EXPIRE (the
// features' TTL), and one UNLINK of the buckets its watermark left behind; per partition HSET
// of next and wm; INCR of the shared writes' counter (last: its reply is the counter this
// commit makes); EXEC. The transaction goes out in parts of `part_bytes` while it is encoded:
// Redis parses and queues one part while the worker encodes the next (nothing applies before
// EXEC).
//
//   encode_read(out, partitions, batch, cache, scratch);      // send, read the replies
//   auto stale = stale_partitions(partitions, replies);        // none: go on
//   auto sent = encode_write(out, sink, partitions, batch, replies, cache, {.ttl_s = ttl});
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/config/config.h"
#include "adsx/features/stream_store.h"
#include "adsx/redis/client.h"
#include "adsx/redis/key_cache.h"
#include "adsx/redis/keys.h"

namespace adsx::redis {

// Where a transaction's parts go as they are encoded (the connection; tests: a recorder).
class part_sink
{
public:
    virtual ~part_sink() = default;
    [[nodiscard]] virtual result<void> send(const resp_writer& part) = 0;
};

// A connection as the sink: each part is sent as it is ready.
class connection_sink final : public part_sink
{
public:
    explicit connection_sink(connection& c) : _c(c) {}
    [[nodiscard]] result<void> send(const resp_writer& part) override { return _c.send(part); }

private:
    connection& _c;
};

struct transaction_settings
{
    std::int64_t ttl_s = config::stream_config{}.ttl_hours * std::int64_t{3600};  // every key
    std::size_t part_bytes = 256 * 1024;  // sent once the encoded part is this large
};

// What one transaction of a commit covers. On one server, everything (the defaults). On Redis
// Cluster (feature_store.h), a transaction runs within one hash slot: a shard's transaction
// (`entities`) holds the shard's keys, its copy of the partitions' offsets (with their claims),
// its counter and user epoch; a partition's log transaction (`request_logs`, no entities) its
// request log and its own offsets. Every fixed key's name is prefixed by `tag`; the entity keys
// come named, tag included (shard_keys).
struct shard_scope
{
    std::string_view tag;
    bool entities = true;
    bool request_logs = true;
    bool claims = false;  // step 1 also reads each offsets hash's claim (its last field)
};

// A shard's part of a batch: its keys' stored names and their updates.
struct shard_keys
{
    using named = std::vector<std::pair<std::string, const features::key_update*>>;
    named shared;
    named users;
};

// Step 1 into `out` (cleared first). `cache` begins the commit before (key_cache::begin).
void encode_read(resp_writer& out, const std::vector<features::partition_commit>& partitions,
                 const features::batch_update& batch, key_cache& cache, std::string& scratch);
// The same for one transaction of a cluster commit.
void encode_read(resp_writer& out, const std::vector<features::partition_commit>& partitions,
                 const shard_keys& keys, key_cache& cache, std::string& scratch,
                 const shard_scope& scope);

// What step 1's replies say of the key cache's validity (with the cache only).
struct cache_versions
{
    std::optional<std::string> user_epoch;  // none: never incremented
    std::int64_t shared_writes = 0;
};
[[nodiscard]] cache_versions versions_read(const std::vector<reply>& read, std::size_t partitions);

// The partitions (indices) whose stored offset is not the one the commit expects.
[[nodiscard]] std::vector<std::size_t> stale_partitions(
    const std::vector<features::partition_commit>& partitions, const std::vector<reply>& read);

// Step 2, given step 1's replies: the whole transaction through `sink`, in parts. Returns how
// many commands were sent (the replies to read back: the last is EXEC's). A part the sink
// fails stops the sending, not the encoding; its error is returned once the encoding is done.
[[nodiscard]] result<std::size_t> encode_write(
    resp_writer& out, part_sink& sink, const std::vector<features::partition_commit>& partitions,
    const features::batch_update& batch, const std::vector<reply>& read, key_cache& cache,
    const transaction_settings& s);
// The same for one transaction of a cluster commit.
[[nodiscard]] result<std::size_t> encode_write(
    resp_writer& out, part_sink& sink, const std::vector<features::partition_commit>& partitions,
    const shard_keys& keys, const std::vector<reply>& read, key_cache& cache,
    const transaction_settings& s, const shard_scope& scope);

// A partition's request log, buckets first..last (under `tag`: "" on one server), in one MGET
// through `c` (a connection, or a cluster): each bucket's bytes, empty where there are none.
template <class Client>
[[nodiscard]] result<std::vector<std::string>> read_request_log(Client& c, std::string_view tag,
                                                                std::string_view partition_id,
                                                                features::follow_kind kind,
                                                                std::int64_t first,
                                                                std::int64_t last)
{
    std::vector<std::string> out;
    if (last < first) {
        return out;
    }
    std::vector<std::string> args{"MGET"};
    for (auto b = first; b <= last; ++b) {
        args.push_back(std::string(tag) + request_log_key(partition_id, kind, b));
    }
    auto r = c.command(args);
    if (!r) {
        return fail(r.error().wrap("reading a request log"));
    }
    if (r->type != reply::kind::array || r->elements.size() + 1 != args.size()) {
        return fail(error_code::internal, "MGET of a request log: unexpected reply");
    }
    for (auto& e : r->elements) {
        out.push_back(e.type == reply::kind::string ? std::move(e.str) : std::string{});
    }
    return out;
}

// The counter EXEC's reply shows this commit left (INCR's reply, its last), if it is there.
[[nodiscard]] std::optional<std::int64_t> shared_writes_after(const reply& exec);

}  // namespace adsx::redis
