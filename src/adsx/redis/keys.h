#pragma once
// Every Redis key name the feature store builds besides the entity hashes, from the one key
// layout (schemas/online_store.json, read through the generated adsx/base/store_layout.h).
// `{partition}` is the engine's partition id, `{group}:{topic}:{number}`:
//   off:{partition}                 a partition's offsets hash: `next` (the next offset to read)
//                                   and `wm` (its watermark), advanced with the features
//   rq:{partition}:{i|c}:{bucket}   a request-log bucket: 8-byte fingerprints of impressions
//                                   (i, minute buckets) or clicks (c, hour buckets), which a
//                                   commit APPENDs to and UNLINKs once its watermark leaves
//                                   them behind (features/request_log.h); their TTL, the
//                                   features', only collects what a partition nobody consumes
//                                   any more leaves
//   adsx:stream:shared-writes       a counter every commit increments (feature_store.h)
//   adsx:stream:user-epoch          a counter whoever changes or deletes users' stream fields
//                                   besides the stream (an erasure) increments (key_cache.h)
// The entity hashes (u:{user}, a:{ad}, c:{campaign}) are named where their updates are made
// (features/update.h).
//
// On Redis Cluster ([redis] mode = "cluster") every name above is stored under a hash tag
// (schemas/online_store.json, "cluster"): an entity key and a shard's copy of the offsets
// under the tag of a shard, a partition's log and its own offsets under the partition's tag.
//
//   redis::offset_key("features:ad.events:3")   // "off:features:ad.events:3"
//   redis::in_shard("a:42")                      // "{13}a:42" (shard_of("a:42") is 12)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adsx/base/store_layout.h"
#include "adsx/features/request_log.h"

namespace adsx::redis {

inline constexpr std::string_view shared_writes_key = store_layout::keys_shared_writes;
inline constexpr std::string_view user_epoch_key = store_layout::keys_user_epoch;

// The fields of an offsets hash.
inline constexpr std::string_view offset_next_field = "next";
inline constexpr std::string_view offset_watermark_field = "wm";

[[nodiscard]] std::string offset_key(std::string_view partition_id);
// The offsets hash's field naming the worker that claimed the partition (Redis Cluster only).
inline constexpr std::string_view offset_claim_field = "claim";
[[nodiscard]] std::string request_log_key(std::string_view partition_id, features::follow_kind k,
                                          std::int64_t bucket);

inline constexpr std::size_t cluster_shards = store_layout::cluster_shards;
// The shard of a key's name (by its own slot), and a shard's hash tag, braces included.
[[nodiscard]] std::size_t shard_of(std::string_view key) noexcept;
[[nodiscard]] const std::string& shard_tag(std::size_t shard);
// `key` under the tag of its shard.
[[nodiscard]] std::string in_shard(std::string_view key);
// A partition's tag: "{" + partition id + "}".
[[nodiscard]] std::string partition_tag(std::string_view partition_id);

}  // namespace adsx::redis
