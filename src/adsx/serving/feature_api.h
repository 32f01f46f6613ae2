#pragma once
// GET /features/ad/{id} and GET /features/user/{id}: an entity's online features as serving
// sees them, from one read of the online store. Pure over the store port (online_reader) and
// the clock.
//
//   serving::feature_api api(reader, system_clock::instance());
//   http::reply r = api.ad("87", "as_of=1764930000000");
//
// A reply carries every feature with its as-of time and freshness:
//   {"ad_id": 87, "as_of": …, "newest_event": …, "freshness_s": 0.41,
//    "stream": {… read.h's features …},
//    "batch": {"as_of": …, "features": {"ctr_7d": 0.012, …}, "by_device": {…}, "by_geo": {…}}}
// as_of defaults to now; an earlier one is refused when the store no longer holds its windows
// (the minute tiles of the last hour). Ids follow the event contract (ad ids its range, user ids
// its pseudonym pattern); a malformed id or as_of is 422, an unknown entity 404, the store down
// 503. A user whose consent string (`?consent=`, TCF v2) does not allow personalisation gets
// only that fact: {"user_id": …, "personalisation": false}, and no user key is read.
// Thread-safe when the reader is.
#include <string_view>

#include "adsx/base/time.h"
#include "adsx/features/online_reader.h"
#include "adsx/http/message.h"

namespace adsx::serving {

class feature_api
{
public:
    feature_api(features::online_reader& reader, const clock& clock);

    [[nodiscard]] http::reply ad(std::string_view id, std::string_view query) const;
    [[nodiscard]] http::reply user(std::string_view id, std::string_view query) const;

private:
    features::online_reader& _reader;
    const clock& _clock;
};

// The daily job's materialized fields of a hash (schemas/online_store.json fields.batch) as a
// JSON object: {"as_of", "features", and for ads "by_device" and "by_geo"}; null when none.
[[nodiscard]] std::string batch_json(const features::hash_fields& h, bool with_slices);

}  // namespace adsx::serving
