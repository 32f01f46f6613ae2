#pragma once
// The body of POST /rank_ads, parsed and checked: ids and context values by the event contract
// (schemas/ad_event.schema.json), bounds by schemas/openapi.json (RankRequest).
//
//   {"user_id": "k1:…", "consent": "C…", "context": {"device": "ios", "geo": "US-CA",
//    "placement": "feed", "time": 1764930000000, "slot": 1}, "slots": 3,
//    "candidate_ids": [87, 88], "debug": true}
//
//   auto r = serving::parse_rank_request(body);
//   if (auto* bad = std::get_if<serving::request_error>(&r)) return 400/422 naming bad->field;
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adsx/base/ids.h"
#include "adsx/events/event.h"

namespace adsx::serving {

inline constexpr std::size_t max_slots = 20;
inline constexpr std::size_t max_candidate_ids = 1000;

struct rank_request
{
    std::string user_id;
    // TCF v2, in the event contract's shape; absent or undecodable: no personalisation.
    std::optional<std::string> consent;
    events::device_type device = events::device_type::desktop;
    std::string device_name, geo, placement;
    std::optional<std::int64_t> time_ms;  // absent: now
    int slot = 1;                         // the first slot's position
    std::size_t slots = 1;
    std::optional<std::vector<ad_id>> candidate_ids;
    bool debug = false;
};

struct request_error
{
    int status = 422;  // 400: not JSON at all
    std::string field;
    std::string message;
};

[[nodiscard]] std::variant<rank_request, request_error> parse_rank_request(std::string_view body);

}  // namespace adsx::serving
