#include <map>

#include <gtest/gtest.h>

#include "adsx/features/update.h"

namespace adsx::features {
namespace {

constexpr std::int64_t t0 = 1'790'000'040'000;  // a minute boundary + 40 s

events::event ev(events::event_type type, std::int64_t t, std::uint32_t ad = 7)
{
    events::event e;
    e.type = type;
    e.event_time_ms = t;
    e.user_id = "k1:00";
    e.ad_id = ad;
    e.campaign_id = 3;
    e.device = events::device_type::ios;
    e.geo = "US-CA";
    return e;
}

TEST(tiles, tile_and_slot_follow_the_rule)
{
    EXPECT_EQ(tile_of(119'999, minute_tiles), 1);
    EXPECT_EQ(tile_of(120'000, minute_tiles), 2);
    EXPECT_EQ(slot_of(61, minute_tiles), 1);
    EXPECT_EQ(slot_prefix(61, minute_tiles), "m1");
    EXPECT_EQ(slot_prefix(27, hour_tiles), "h1");
}

TEST(tiles, window_sum_includes_exactly_the_tiles_of_the_window)
{
    const auto now = tile_of(t0, minute_tiles);
    std::vector<tile_value> tiles;
    for (int back = 0; back < 10; ++back) {
        tiles.push_back({now - back, {1, back, 0}});
    }
    auto five = window_sum(tiles, minute_tiles, t0, 5 * 60'000);
    EXPECT_EQ(five.impressions, 5);  // tiles now-4 .. now
    EXPECT_EQ(five.clicks, 0 + 1 + 2 + 3 + 4);
    EXPECT_EQ(window_sum(tiles, minute_tiles, t0, 60'000).impressions, 1);
}

TEST(tiles, smoothed_ctr_shrinks_small_counts_to_the_prior)
{
    EXPECT_NEAR(smoothed_ctr(0, 0), 0.015, 1e-12);
    EXPECT_NEAR(smoothed_ctr(1, 1), (1 + 3.0) / 201, 1e-12);
    EXPECT_NEAR(smoothed_ctr(5000, 100000), (5000 + 3.0) / 100200, 1e-12);
}

TEST(tiles, parse_and_merge_follow_the_ring_rule)
{
    EXPECT_EQ(parse_tile("29833:4:1:0")->c, (counts{4, 1, 0}));
    EXPECT_EQ(parse_tile("29833:4:1:0")->tile, 29833);
    for (const char* bad : {"", "1:2:3", "1:2:3:4:", "1:2:x:4", "1:2:3:4 "}) {
        EXPECT_FALSE(parse_tile(bad)) << bad;
    }
    EXPECT_EQ(format_tile({29833, {4, 1, 0}}), "29833:4:1:0");
    const tile_value held{100, {5, 1, 0}};
    EXPECT_EQ(merge_tile(held, 100, {1, 1, 1})->c, (counts{6, 2, 1}));  // same tile: adds
    EXPECT_EQ(merge_tile(held, 160, {1, 0, 0})->c, (counts{1, 0, 0}));  // newer: replaces
    EXPECT_EQ(merge_tile(held, 160, {1, 0, 0})->tile, 160);
    EXPECT_FALSE(merge_tile(held, 40, {1, 0, 0}));  // older: dropped
    EXPECT_EQ(merge_tile(std::nullopt, 40, {1, 0, 0})->c, (counts{1, 0, 0}));
}

TEST(batch_update, combines_per_key_and_tile)
{
    batch_update b;
    b.add(ev(events::event_type::impression, t0), true);
    b.add(ev(events::event_type::impression, t0 + 1000), true);
    b.add(ev(events::event_type::click, t0 + 5000), true);
    b.add(ev(events::event_type::impression, t0 + 60'000), true);  // next minute
    const auto& a = b.shared_keys().at("a:7");
    // the ad's own minute tiles, then per device and per geo: 2 minutes × 3
    ASSERT_EQ(a.tiles.size(), 6u);
    const auto slot = slot_of(tile_of(t0, minute_tiles), minute_tiles);
    EXPECT_EQ(a.tiles[0].field, "m" + std::to_string(slot));
    EXPECT_EQ(a.tiles[0].delta, (counts{2, 1, 0}));
    EXPECT_EQ(a.tiles[1].field, "d:ios:m" + std::to_string(slot));
    EXPECT_EQ(a.tiles[1].delta, (counts{2, 1, 0}));
    EXPECT_EQ(a.tiles[2].field, "g:US-CA:m" + std::to_string(slot));
    EXPECT_EQ(a.tiles[3].delta, (counts{1, 0, 0}));
    ASSERT_EQ(a.maxes.size(), 1u);
    EXPECT_EQ(a.maxes[0].value, t0 + 60'000);
    EXPECT_TRUE(b.shared_keys().contains("c:3"));
    const auto& u = b.user_keys().at("u:k1:00");
    EXPECT_EQ(u.tiles.size(), 3u);  // two minute tiles, one hour tile
    EXPECT_TRUE(b.user_keys().contains("uc:k1:00:3"));
    EXPECT_EQ(b.shared_keys().size() + b.user_keys().size(), 4u);
    EXPECT_EQ(b.events(), 4u);
    EXPECT_EQ(b.max_event_time(), t0 + 60'000);
}

TEST(batch_update, one_entry_per_slot_holding_the_newest_tile)
{
    batch_update b;
    const auto hour = 60 * 60'000;
    b.add(ev(events::event_type::impression, t0 + hour), true);  // same minute slot, 1 h later
    b.add(ev(events::event_type::click, t0), true);              // older tile: superseded
    b.add(ev(events::event_type::impression, t0 + hour + 1), true);
    const auto& a = b.shared_keys().at("a:7");
    ASSERT_EQ(a.tiles.size(), 3u);  // the ad, its device, its geo: one slot each
    EXPECT_EQ(a.tiles[0].tile, tile_of(t0 + hour, minute_tiles));
    EXPECT_EQ(a.tiles[0].delta, (counts{2, 0, 0}));
}

TEST(batch_update, no_user_level_keys_without_consent_but_ad_counts_still_count)
{
    batch_update b;
    b.add(ev(events::event_type::impression, t0), false);
    EXPECT_TRUE(b.shared_keys().contains("a:7"));
    EXPECT_TRUE(b.shared_keys().contains("c:3"));
    EXPECT_TRUE(b.user_keys().empty());
}

TEST(batch_update, recency_per_user_campaign_and_ad_keeps_the_newest_time)
{
    batch_update b;
    b.add(ev(events::event_type::impression, t0 + 9000), true);
    b.add(ev(events::event_type::impression, t0), true);
    b.add(ev(events::event_type::click, t0 + 2000, 8), true);  // another ad of the campaign
    const auto& uc = b.user_keys().at("uc:k1:00:3");
    std::map<std::string, std::int64_t> m;
    for (const auto& x : uc.maxes) {
        m[x.field] = x.value;
    }
    EXPECT_EQ(m.at("last_imp"), t0 + 9000);
    EXPECT_EQ(m.at("last_imp:7"), t0 + 9000);
    EXPECT_EQ(m.at("last_clk"), t0 + 2000);
    EXPECT_EQ(m.at("last_clk:8"), t0 + 2000);
    EXPECT_FALSE(m.contains("last_clk:7"));
    EXPECT_EQ(m.at("asof"), t0 + 9000);
}

}  // namespace
}  // namespace adsx::features

#include "adsx/features/read.h"

namespace adsx::features {
namespace {

TEST(read, ad_features_sum_the_right_tiles_as_of_a_time)
{
    const std::int64_t now_tile = tile_of(t0, minute_tiles);
    hash_fields h;
    auto put = [&](std::int64_t tile, int imp, int clk) {
        h[slot_prefix(tile, minute_tiles)] =
            std::to_string(tile) + ":" + std::to_string(imp) + ":" + std::to_string(clk) + ":0";
    };
    put(now_tile, 100, 3);       // in both windows
    put(now_tile - 4, 50, 1);    // in 5 min
    put(now_tile - 7, 40, 2);    // 1 h only; also the "5 min before" window
    put(now_tile - 61, 999, 9);  // outside both (and a stale slot)
    auto f = ad_features_of(h, t0);
    EXPECT_EQ(f.last_5m, (counts{150, 4, 0}));
    EXPECT_EQ(f.last_1h, (counts{190, 6, 0}));
    EXPECT_DOUBLE_EQ(f.impressions_per_minute, 30.0);
    EXPECT_DOUBLE_EQ(f.trend, 150.0 / 40.0);
    EXPECT_NE(to_json(f).find("\"last_5m\":{\"impressions\":150,\"clicks\":4"), std::string::npos);
}

TEST(read, ad_features_slice_the_last_hour_by_device_and_geo)
{
    const std::int64_t now_tile = tile_of(t0, minute_tiles);
    const auto slot = std::to_string(slot_of(now_tile, minute_tiles));
    const auto old = std::to_string(slot_of(now_tile - 61, minute_tiles));
    hash_fields h{{"d:ios:m" + slot, std::to_string(now_tile) + ":10:2:0"},
                  {"d:ctv:m" + old, std::to_string(now_tile - 61) + ":5:0:0"},  // over an hour
                  {"g:US-CA:m" + slot, std::to_string(now_tile) + ":7:1:0"}};
    auto f = ad_features_of(h, t0);
    ASSERT_EQ(f.by_device.size(), 1u);
    EXPECT_EQ(f.by_device.at("ios").last_1h, (counts{10, 2, 0}));
    EXPECT_DOUBLE_EQ(f.by_device.at("ios").ctr_1h, smoothed_ctr(2, 10));
    EXPECT_EQ(f.by_geo.at("US-CA").last_1h, (counts{7, 1, 0}));
    EXPECT_NE(to_json(f).find("\"by_geo\":{\"US-CA\":{\"last_1h\":{\"impressions\":7"),
              std::string::npos);
}

TEST(read, user_recency_is_relative_to_as_of_and_absent_when_unknown)
{
    hash_fields h{{"last_imp", std::to_string(t0 - 30'000)}};
    auto f = user_features_of(h, t0);
    ASSERT_TRUE(f.seconds_since_impression);
    EXPECT_DOUBLE_EQ(*f.seconds_since_impression, 30.0);
    EXPECT_FALSE(f.seconds_since_click);
    EXPECT_NE(to_json(f).find("\"seconds_since_click\":null"), std::string::npos);
}

}  // namespace
}  // namespace adsx::features
