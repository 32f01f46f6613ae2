#pragma once
// Reading features back: from an entity hash (as `adsx stream` writes it) to the feature values
// serving and people use, as of a point in time. Pure: the caller fetches the hash (one
// HGETALL) and passes its fields. The same window rule as tiles.h, so what is read is what the
// lake recomputes.
//
//   auto f = ad_features_of(fields, as_of_ms);   // f.ctr_5m, f.impressions_per_minute, …
#include <map>
#include <optional>
#include <string>

#include "adsx/features/tiles.h"
#include "adsx/features/user_state.h"

namespace adsx::features {

using hash_fields = std::map<std::string, std::string>;

// The tiles of one granularity held in a hash; `dim` selects a slice's ("d:ios:", "g:US-CA:").
[[nodiscard]] std::vector<tile_value> tiles_in(const hash_fields& h, tile_spec s,
                                               std::string_view dim = "");
// A user's tiles of one granularity, from its tile blocks (user_state.h).
[[nodiscard]] std::vector<tile_value> tiles_in(const hash_fields& h, const tile_blocks& b);
[[nodiscard]] std::optional<std::int64_t> field_ms(const hash_fields& h, const std::string& f);
// The newest event time a hash reflects: its `asof` (ads, campaigns), or the newest of a
// user's `own` recency; 0 when neither is there.
[[nodiscard]] std::int64_t newest_ms(const hash_fields& h);

struct slice_features
{
    counts last_1h;
    double ctr_1h = 0;  // smoothed
};

struct ad_features
{
    std::int64_t as_of_ms = 0;
    counts last_5m, last_1h;
    double ctr_5m = 0, ctr_1h = 0;      // smoothed
    double impressions_per_minute = 0;  // popularity over the last 5 minutes
    double trend = 0;  // impressions in the last 5 min / the 5 min before (0 when none before)
    std::map<std::string, slice_features> by_device, by_geo;  // slices seen in the last hour
};

// A user's features for one campaign (field `c{campaign}`): frequency for caps and recency.
struct campaign_features
{
    counts last_1h, last_24h;
    std::optional<double> seconds_since_impression, seconds_since_click;
};

struct user_features
{
    std::int64_t as_of_ms = 0;
    counts last_5m, last_1h, last_24h;
    double engagement_5m = 0, engagement_1h = 0, engagement_24h = 0;  // smoothed CTR
    std::optional<double> seconds_since_impression, seconds_since_click;
    std::map<std::uint32_t, campaign_features> campaigns;  // seen in the last 24 h
};

[[nodiscard]] ad_features ad_features_of(const hash_fields& h, std::int64_t as_of_ms);
[[nodiscard]] user_features user_features_of(const hash_fields& h, std::int64_t as_of_ms);

// JSON objects for the CLI and, later, GET /features/ad/{id} and /features/user/{id}.
[[nodiscard]] std::string to_json(const ad_features& f);
[[nodiscard]] std::string to_json(const user_features& f);

}  // namespace adsx::features
