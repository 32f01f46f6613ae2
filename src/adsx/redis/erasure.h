#pragma once
// Erasure's Redis side: every key that names a user (their hash u:{user}, and any other key
// holding the pseudonym, found by SCAN, so that a key kind added later is not forgotten).
// Values hold no user ids: request logs keep 8-byte fingerprints of request ids, entity hashes
// of ads and campaigns only counts. On Redis Cluster every master is scanned, and keys are
// named as stored (under their hash tags, keys.h).
//
//   auto r = redis::erasure::open(cfg.redis, std::chrono::seconds(5));
//   auto keys = r->user_keys("k1:…");    // what `adsx privacy verify` reports
//   auto n = r->erase_user("k1:…");      // keys deleted
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/config/config.h"
#include "adsx/redis/client.h"
#include "adsx/redis/cluster.h"

namespace adsx::redis {

class erasure
{
public:
    // The configured Redis: one server, or a cluster ([redis] mode).
    [[nodiscard]] static result<erasure> open(const config::redis_config& cfg,
                                              std::chrono::milliseconds timeout);

    // The keys that name `user`, sorted.
    [[nodiscard]] result<std::vector<std::string>> user_keys(const std::string& user);

    // Deletes them. The user's own hash goes in one transaction with an increment of the user
    // epoch (on a cluster, its shard's), so that a stream worker which remembers the user's
    // fields (key_cache.h) forgets them and any commit in flight that read them is refused
    // and reads again. Returns how many keys were deleted.
    [[nodiscard]] result<std::int64_t> erase_user(const std::string& user);

private:
    explicit erasure(connection c) : _one(std::move(c)) {}
    explicit erasure(cluster c) : _cluster(std::move(c)) {}

    std::optional<connection> _one;
    std::optional<cluster> _cluster;
};

}  // namespace adsx::redis
