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
//   redis::offset_key("features:ad.events:3")   // "off:features:ad.events:3"
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
[[nodiscard]] std::string request_log_key(std::string_view partition_id, features::follow_kind k,
                                          std::int64_t bucket);

}  // namespace adsx::redis
