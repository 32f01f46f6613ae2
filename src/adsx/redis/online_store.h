#pragma once
// The Redis online store (implements features::online_store): entity hashes with tile rings,
// recency and as-of fields; per-partition offsets and watermarks in `off:{partition}` hashes;
// impression request ids as `rq:{16 bytes}` keys. A commit is one Lua script: compare the
// partition's stored offset with the expected one, apply every update of the batch, refresh
// TTLs, advance the offset — atomically, so a crash or a rebalance never counts twice.
//
// Single-node Redis: the script touches keys of many hash slots, which Redis Cluster refuses;
// a cluster deployment would shard the batch by slot with one offset per shard (not built).
// Not thread-safe: one store per worker thread.
#include <chrono>
#include <string>

#include "adsx/features/store.h"
#include "adsx/redis/client.h"

namespace adsx::redis {

struct online_store_settings
{
    std::chrono::seconds ttl{48 * 3600};          // every feature key
    std::chrono::seconds request_ttl{26 * 3600};  // how long a click may follow its impression
};

class online_store final : public features::online_store
{
public:
    [[nodiscard]] static result<online_store> open(const std::string& host, int port,
                                                   online_store_settings s);

    [[nodiscard]] result<features::partition_state> load(const std::string& partition_id) override;
    [[nodiscard]] result<std::vector<bool>> known_requests(
        const std::vector<events::uuid>& ids) override;
    [[nodiscard]] result<features::commit_outcome> commit(
        const std::string& partition_id, const features::partition_state& expected,
        const features::partition_state& next, const features::batch_update& batch) override;

    [[nodiscard]] connection& conn() noexcept { return _conn; }

private:
    online_store(connection c, online_store_settings s) : _conn(std::move(c)), _s(s) {}
    [[nodiscard]] result<std::string> script_sha();

    connection _conn;
    online_store_settings _s;
    std::string _sha;
};

[[nodiscard]] std::string offset_key(const std::string& partition_id);
[[nodiscard]] std::string request_key(const events::uuid& id);

}  // namespace adsx::redis
