#pragma once
// The port serving reads the online store through: the hashes of several keys in one round
// trip (read.h turns them into features). Redis implements it (redis/hash_reader.h); tests use
// an in-memory map.
//
//   auto h = reader.hashes({features::ad_key(87), features::user_key(u)});
//   if (!h) return degrade(h.error());        // unavailable / deadline_exceeded
//   auto ad = features::ad_features_of((*h)[0], now_ms);
//
// Implementations are thread-safe: serving calls them from every worker at once.
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/read.h"

namespace adsx::features {

class online_reader
{
public:
    online_reader() = default;
    online_reader(const online_reader&) = delete;
    online_reader& operator=(const online_reader&) = delete;
    online_reader(online_reader&&) = delete;
    online_reader& operator=(online_reader&&) = delete;
    virtual ~online_reader() = default;

    // One hash per key, in order; an empty hash for a key that does not exist.
    [[nodiscard]] virtual result<std::vector<hash_fields>> hashes(
        const std::vector<std::string>& keys) = 0;
};

}  // namespace adsx::features
