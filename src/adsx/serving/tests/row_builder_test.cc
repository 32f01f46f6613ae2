// Proves the row builder follows schemas/model_row.json: every feature the file defines
// resolves (and names it does not define, or define for the other kind, are refused), windows
// count the tiles of t's window, user features are missing without consent, batch features are
// used only when materialized for the day before t's, and the request's and catalog's values
// fill the categorical columns.
#include <cmath>

#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/features/tiles.h"
#include "adsx/serving/row_builder.h"

namespace adsx::serving {
namespace {

ranking::feature_spec spec(std::vector<std::string> numeric, std::vector<std::string> cats)
{
    ranking::feature_spec s;
    for (auto& n : numeric) {
        s.numeric.push_back({n, ranking::transform::none});
    }
    for (auto& c : cats) {
        s.categorical.push_back({c, {}});
    }
    return s;
}

constexpr std::int64_t day = 20'427;                                            // 2025-12-05
constexpr std::int64_t t = day * day_ms + 37 * minute_ms + 5 * hour_ms + 1234;  // 05:37:01.234

TEST(row_builder, resolves_what_model_row_json_defines_and_refuses_the_rest)
{
    auto ok = row_builder::make(spec(
        {"stream_ad_5m_impressions", "stream_ad_1h_clicks", "stream_user_1h_impressions",
         "stream_user_24h_clicks", "stream_user_campaign_24h_impressions",
         "stream_user_seconds_since_impression", "stream_user_seconds_since_click",
         "batch_user_ctr_7d", "batch_ad_device_ctr_7d", "batch_ad_geo_impressions_7d",
         "batch_campaign_pacing", "bid"},
        {"device", "geo", "placement", "slot", "hour_of_day", "category", "ad_id", "campaign_id"}));
    ASSERT_TRUE(ok.has_value()) << ok.error().message;
    auto unknown = row_builder::make(spec({"stream_ad_5m_conversions"}, {}));
    ASSERT_FALSE(unknown.has_value());
    EXPECT_NE(unknown.error().message.find("stream_ad_5m_conversions"), std::string::npos);
    EXPECT_FALSE(row_builder::make(spec({"device"}, {})).has_value());  // categorical there
    EXPECT_FALSE(row_builder::make(spec({}, {"bid"})).has_value());     // numeric there
}

struct fixture : ::testing::Test
{
    request_context ctx{"ios", "US-CA", "feed", "2", t, hour_of_day(t)};
    campaign_info campaign = [] {
        campaign_info c;
        c.id = campaign_id{7};
        c.id_text = "7";
        c.kind = ranking::bid_kind::cpc;
        c.bid = 1.25;
        return c;
    }();
    ad_info ad{ad_id{42}, "42", 0, "sports"};
    entity_state ad_hash, campaign_hash, user;

    void SetUp() override
    {
        features::hash_fields a;
        // Minute tiles: one inside 5 minutes, one 30 minutes back, one 2 hours back (gone).
        const auto now_tile = features::tile_of(t, features::minute_tiles);
        for (auto [back, imps, clicks] : {std::tuple{1, 3, 1}, {30, 10, 2}, {120, 50, 5}}) {
            const auto tile = now_tile - back;
            a[features::slot_prefix(tile, features::minute_tiles)] =
                features::format_tile({tile, {imps, clicks, 0}});
        }
        const auto midnight = day * day_ms;  // end of the day before t's
        a["b.asof"] = std::to_string(midnight);
        a["b.impressions_7d"] = "1234";
        a["b.d:ios:asof"] = std::to_string(midnight);
        a["b.d:ios:ctr_7d"] = "0.0125";
        a["b.g:US-CA:asof"] = std::to_string(midnight - day_ms);  // a day stale
        a["b.g:US-CA:ctr_7d"] = "0.02";
        ad_hash = ad_state(a);
        campaign_hash = plain_state({{"b.asof", std::to_string(midnight)}, {"b.pacing", "0.5"}});
        features::user_own own;
        own.last[0] = t - 90'000;  // an impression 90 s before t; never clicked
        user = user_state({{"own", features::format_user_own(own)}});
    }
};

TEST_F(fixture, fills_windows_batch_and_categorical_values)
{
    auto rb = row_builder::make(
        spec({"stream_ad_5m_impressions", "stream_ad_5m_clicks", "stream_ad_1h_impressions",
              "batch_ad_impressions_7d", "batch_ad_device_ctr_7d", "batch_ad_geo_ctr_7d",
              "batch_campaign_pacing", "bid", "stream_user_seconds_since_impression",
              "stream_user_seconds_since_click", "stream_user_1h_impressions"},
             {"device", "slot", "hour_of_day", "category", "ad_id", "campaign_id"}));
    ASSERT_TRUE(rb.has_value()) << rb.error().message;
    ranking::batch b(11, 6);
    b.reset(2);
    rb->fill(b, 0, {ctx, ad, campaign, ad_hash, campaign_hash, &user});
    EXPECT_EQ(b.numeric(0, 0), 3);
    EXPECT_EQ(b.numeric(0, 1), 1);
    EXPECT_EQ(b.numeric(0, 2), 13);  // the tile 2 h back is outside the hour
    EXPECT_EQ(b.numeric(0, 3), 1234);
    EXPECT_EQ(b.numeric(0, 4), 0.0125);
    EXPECT_TRUE(std::isnan(b.numeric(0, 5)));  // materialized for another day: missing
    EXPECT_EQ(b.numeric(0, 6), 0.5);
    EXPECT_EQ(b.numeric(0, 7), 1.25);
    EXPECT_DOUBLE_EQ(b.numeric(0, 8), 90.0);
    EXPECT_TRUE(std::isnan(b.numeric(0, 9)));  // no click yet
    EXPECT_EQ(b.numeric(0, 10), 0);            // consented, no events this hour
    EXPECT_EQ(b.categorical(0, 0), "ios");
    EXPECT_EQ(b.categorical(0, 1), "2");
    EXPECT_EQ(b.categorical(0, 2), "05");
    EXPECT_EQ(b.categorical(0, 3), "sports");
    EXPECT_EQ(b.categorical(0, 4), "42");
    EXPECT_EQ(b.categorical(0, 5), "7");

    // Without personalisation consent every user feature is missing.
    rb->fill(b, 1, {ctx, ad, campaign, ad_hash, campaign_hash, nullptr});
    EXPECT_TRUE(std::isnan(b.numeric(1, 8)));
    EXPECT_TRUE(std::isnan(b.numeric(1, 10)));
    EXPECT_EQ(b.numeric(1, 0), 3);  // ad features stay
}

const std::vector<std::string> every_numeric = {"stream_ad_5m_impressions",
                                                "stream_ad_1h_clicks",
                                                "stream_user_1h_impressions",
                                                "stream_user_24h_clicks",
                                                "stream_user_campaign_24h_impressions",
                                                "stream_user_seconds_since_impression",
                                                "batch_ad_impressions_7d",
                                                "batch_ad_device_ctr_7d",
                                                "batch_ad_geo_ctr_7d",
                                                "batch_campaign_pacing",
                                                "bid"};

// The parts a request shares (prepare, the cached ad part) give the row computed whole.
TEST_F(fixture, rows_from_shared_parts_equal_rows_computed_whole)
{
    auto rb = row_builder::make(spec(every_numeric, {"device", "ad_id", "campaign_id"}));
    ASSERT_TRUE(rb.has_value()) << rb.error().message;
    const auto ad_ptr = std::make_shared<const entity_state>(ad_hash);
    const auto campaign_ptr = std::make_shared<const entity_state>(campaign_hash);
    const auto other_ad = std::make_shared<const entity_state>();  // no hash: counts 0, missing
    ad_part_cache cache;
    for (const entity_state* u : std::vector<const entity_state*>{&user, nullptr}) {
        ranking::batch whole(every_numeric.size(), 3), parts(every_numeric.size(), 3);
        whole.reset(4);
        parts.reset(4);
        const auto part = rb->prepare(ctx, u);
        for (std::size_t r = 0; r < 4; ++r) {
            const auto& a = r % 2 ? other_ad : ad_ptr;
            const row_inputs in{ctx, ad, campaign, *a, *campaign_ptr, u};
            rb->fill(whole, r, in);
            rb->fill(parts, r, in, part, cache.get(*rb, in, a, campaign_ptr));
        }
        for (std::size_t c = 0; c < every_numeric.size(); ++c) {
            for (std::size_t r = 0; r < 4; ++r) {
                const auto x = whole.numeric(r, c), y = parts.numeric(r, c);
                EXPECT_TRUE(x == y || (std::isnan(x) && std::isnan(y)))
                    << every_numeric[c] << " row " << r << ": " << x << " vs " << y;
            }
        }
        EXPECT_EQ(parts.categorical(0, 1), "42");
    }
    EXPECT_EQ(cache.misses(), 2u);  // each ad's part computed once, then shared
    EXPECT_EQ(cache.hits(), 6u);
}

TEST_F(fixture, ad_parts_are_kept_per_minute_hash_and_builder)
{
    auto rb = row_builder::make(spec({"stream_ad_5m_impressions"}, {}));
    auto rb2 = row_builder::make(spec({"stream_ad_5m_impressions"}, {}));
    ASSERT_TRUE(rb.has_value() && rb2.has_value());
    auto campaign_ptr = std::make_shared<const entity_state>(campaign_hash);
    auto ad_ptr = std::make_shared<const entity_state>(ad_hash);
    ad_part_cache cache;
    auto value = [&](const row_builder& b, std::int64_t at) {
        request_context c = ctx;
        c.time_ms = at;
        return cache.get(b, {c, ad, campaign, *ad_ptr, *campaign_ptr, nullptr}, ad_ptr,
                         campaign_ptr)[0];
    };
    EXPECT_EQ(value(*rb, t), 3);
    EXPECT_EQ(value(*rb, t + 10'000), 3);  // 05:37:11: the same minute
    EXPECT_EQ(cache.misses(), 1u);
    // Five minutes on, the tile one minute back is out of the window: computed again.
    EXPECT_EQ(value(*rb, t + 5 * minute_ms), 0);
    EXPECT_EQ(cache.misses(), 2u);
    EXPECT_EQ(value(*rb2, t + 5 * minute_ms), 0);  // another builder: its own entry
    EXPECT_EQ(cache.misses(), 3u);
    // The ad's hash read again: a new state, a new entry, though the old one's address may be
    // reused by the new one.
    features::hash_fields fresh;
    const auto tile = features::tile_of(t, features::minute_tiles);
    fresh[features::slot_prefix(tile, features::minute_tiles)] =
        features::format_tile({tile, {7, 0, 0}});
    ad_ptr.reset();
    ad_ptr = std::make_shared<const entity_state>(ad_state(fresh));
    EXPECT_EQ(value(*rb, t + 5 * minute_ms), 0);  // its one tile is just out of the 5 minutes
    EXPECT_EQ(value(*rb, t), 7);                  // another minute: the cache starts again
    EXPECT_EQ(cache.misses(), 5u);
}

}  // namespace
}  // namespace adsx::serving
