#pragma once
// Erasure's Redis side: every key that names a user (their hash u:{user}, and any other key
// holding the pseudonym, found by SCAN, so that a key kind added later is not forgotten).
// Values hold no user ids: request logs keep 8-byte fingerprints of request ids, entity hashes
// of ads and campaigns only counts.
//
//   auto keys = redis::user_keys(conn, "k1:…");    // what `adsx privacy verify` reports
//   auto n = redis::erase_user(conn, "k1:…");      // keys deleted
#include <cstdint>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/redis/client.h"

namespace adsx::redis {

// The keys that name `user`, sorted.
[[nodiscard]] result<std::vector<std::string>> user_keys(connection& c, const std::string& user);

// Deletes them in one transaction that also increments the user epoch, so that a stream worker
// which remembers the user's fields (key_cache.h) forgets them and any commit in flight that
// read them is refused and reads again. Returns how many keys were deleted.
[[nodiscard]] result<std::int64_t> erase_user(connection& c, const std::string& user);

}  // namespace adsx::redis
