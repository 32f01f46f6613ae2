// Proves the feature rules the online store and the lake share: tiles and windows (the ring
// rule, window sums, the smoothed CTR), a batch's combination per key and slot (no user keys
// without consent), the packed user state (campaigns, recency, tile blocks, the campaign index
// and its pruning; the state depends on the events, not on how they were batched) and reading
// features back as of a time.
#include <map>
#include <random>

#include <fmt/format.h>
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
    EXPECT_TRUE(u.tiles.empty() && u.maxes.empty());  // packed: own, blocks, per campaign
    const auto m = tile_of(t0, minute_tiles);
    const auto h = tile_of(t0, hour_tiles);
    EXPECT_EQ(
        u.blocks,
        (std::vector<block_add>{
            {block_field(m / 10, minute_blocks), m / 10, 10, {{m, {2, 1, 0}}, {m + 1, {1, 0, 0}}}},
            {block_field(h / 6, hour_blocks), h / 6, 6, {{h, {3, 1, 0}}}}}));
    EXPECT_EQ(u.own.last, (recency{t0 + 60'000, t0 + 5000, 0}));
    ASSERT_EQ(u.campaigns.size(), 1u);  // the campaign's state rides in the user's key
    EXPECT_EQ(u.campaigns[0].first, 3u);
    EXPECT_EQ(b.shared_keys().size() + b.user_keys().size(), 3u);
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
    ASSERT_EQ(b.user_keys().size(), 1u);
    const auto& u = b.user_keys().at("u:k1:00");
    EXPECT_TRUE(u.withdrawn);  // deleted, if held: nothing written
    EXPECT_TRUE(u.campaigns.empty() && u.blocks.empty() && u.tiles.empty());
}

TEST(batch_update, an_event_without_consent_withdraws_the_user_and_what_the_batch_held)
{
    batch_update b;
    b.add(ev(events::event_type::impression, t0), true);
    ASSERT_TRUE(b.user_keys().contains("u:k1:00"));
    b.add(ev(events::event_type::click, t0 + 1000), false);  // consent withdrawn
    const auto& u = b.user_keys().at("u:k1:00");
    EXPECT_TRUE(u.withdrawn);
    EXPECT_TRUE(u.campaigns.empty() && u.blocks.empty()) << "what the batch held is dropped";
    b.add(ev(events::event_type::impression, t0 + 2000), true);  // given again, same batch
    EXPECT_TRUE(u.withdrawn && u.campaigns.empty()) << "kept only from the next batch";
    EXPECT_EQ(b.shared_keys().at("a:7").tiles[0].delta, (counts{2, 1, 0}));  // ads count all
    b.clear();
    b.add(ev(events::event_type::impression, t0 + 3000), true);
    EXPECT_FALSE(b.user_keys().at("u:k1:00").withdrawn);
}

TEST(batch_update, recency_per_user_campaign_and_ad_keeps_the_newest_time)
{
    batch_update b;
    b.add(ev(events::event_type::impression, t0 + 9000), true);
    b.add(ev(events::event_type::impression, t0), true);
    b.add(ev(events::event_type::click, t0 + 2000, 8), true);  // another ad of the campaign
    const auto& u = b.user_keys().at("u:k1:00");
    ASSERT_EQ(u.campaigns.size(), 1u);
    const auto& uc = u.campaigns[0].second;
    EXPECT_EQ(uc.last, (recency{t0 + 9000, t0 + 2000, 0}));
    ASSERT_EQ(uc.ads.size(), 2u);
    EXPECT_EQ(uc.ads[0].ad, 7u);
    EXPECT_EQ(uc.ads[0].last, (recency{t0 + 9000, 0, 0}));
    EXPECT_EQ(uc.ads[1].ad, 8u);
    EXPECT_EQ(uc.ads[1].last, (recency{0, t0 + 2000, 0}));
    ASSERT_EQ(uc.hours.size(), 1u);
    EXPECT_EQ(uc.hours[0].c, (counts{2, 1, 0}));
    EXPECT_EQ(uc.newest(), t0 + 9000);
}

constexpr std::int64_t hour = 3'600'000;
constexpr std::int64_t ttl = 48 * hour;

TEST(user_campaign, packs_and_parses_back)
{
    user_campaign s;
    add_event(s, 7, events::event_type::impression, t0);
    add_event(s, 9, events::event_type::click, t0 + 5 * hour);
    add_event(s, 7, events::event_type::conversion, t0 + 5 * hour + 1);
    const auto text = format_user_campaign(s);
    const auto h = tile_of(t0, hour_tiles);
    EXPECT_EQ(text, fmt::format("{}:{}:{}|{}:1:0:0,{}:0:1:1|7:{}:0:{},9:0:{}:0", t0, t0 + 5 * hour,
                                t0 + 5 * hour + 1, h, h + 5, t0, t0 + 5 * hour + 1, t0 + 5 * hour));
    EXPECT_EQ(parse_user_campaign(text), s);
    EXPECT_EQ(parse_user_campaign("0:0:0||"), user_campaign{});
    for (const auto* bad : {"", "1:2:3", "1:2|", "1:2:3|x|", "1:2:3|1:2:3|", "1:2:3||7:1:2",
                            "1:2:3|1:0:0:0,|", "1:2:3||-1:0:0:0"}) {
        EXPECT_FALSE(parse_user_campaign(bad)) << bad;
    }
}

TEST(user_campaign, merge_adds_tiles_keeps_newest_times_and_forgets_beyond_the_horizons)
{
    user_campaign held;
    add_event(held, 7, events::event_type::click, t0);
    add_event(held, 7, events::event_type::impression, t0 + 10 * hour);
    user_campaign delta;
    add_event(delta, 7, events::event_type::impression, t0 + 10 * hour + 5);
    add_event(delta, 8, events::event_type::impression, t0 + 30 * hour);
    merge(held, delta, ttl);
    // Hour tiles: only the 26 newest ids survive (t0's tile is 30 behind); same tiles add up.
    ASSERT_EQ(held.hours.size(), 2u);
    EXPECT_EQ(held.hours[0].tile, tile_of(t0 + 10 * hour, hour_tiles));
    EXPECT_EQ(held.hours[0].c, (counts{2, 0, 0}));
    EXPECT_EQ(held.last, (recency{t0 + 30 * hour, t0, 0}));  // the click is within 48 h
    user_campaign later;
    add_event(later, 8, events::event_type::impression, t0 + 49 * hour);
    merge(held, later, ttl);
    EXPECT_EQ(held.last, (recency{t0 + 49 * hour, 0, 0}));  // the click is now beyond 48 h
    ASSERT_EQ(held.ads.size(), 2u);  // ad 7's impression at t0+10h is still within 48 h
    EXPECT_EQ(held.ads[0].last, (recency{t0 + 10 * hour + 5, 0, 0}));
    user_campaign much_later;
    add_event(much_later, 8, events::event_type::impression, t0 + 60 * hour);
    merge(held, much_later, ttl);
    ASSERT_EQ(held.ads.size(), 1u);  // ad 7 forgotten altogether
    EXPECT_EQ(held.ads[0].ad, 8u);
}

TEST(user_own, packs_recency_and_reads_what_earlier_versions_wrote)
{
    user_own s;
    add_event(s, events::event_type::impression, t0);
    add_event(s, events::event_type::impression, t0 + 1000);
    add_event(s, events::event_type::click, t0 + 2 * hour);
    const auto text = format_user_own(s);
    EXPECT_EQ(text, fmt::format("{}:{}:0", t0 + 1000, t0 + 2 * hour));
    EXPECT_EQ(parse_user_own(text), s);
    EXPECT_EQ(s.newest(), t0 + 2 * hour);
    // Earlier versions packed the tiles (and before that a campaign index) after the recency.
    EXPECT_EQ(parse_user_own(text + "|29833334:2:0:0|497222:2:0:0"), s);
    EXPECT_EQ(parse_user_own(text + "|||3:1,4:2"), s);
    for (const auto* bad : {"", "0:0", "0:0:0:0", "0:0:x", "0:0|", "|0:0:0"}) {
        EXPECT_FALSE(parse_user_own(bad)) << bad;
    }
}

TEST(tile_blocks, a_batch_keeps_the_newest_block_per_field)
{
    std::vector<block_add> adds;
    const auto m = tile_of(t0, minute_tiles);  // 29833334: block 2983333, field mb{2983333 % 7}
    add_event(adds, minute_blocks, events::event_type::impression, t0);
    add_event(adds, minute_blocks, events::event_type::click, t0 + 60'000);
    add_event(adds, minute_blocks, events::event_type::impression, t0 + 6 * 60'000);  // next block
    ASSERT_EQ(adds.size(), 2u);
    EXPECT_EQ(adds[0].field, "mb" + std::to_string(m / 10 % 7));
    EXPECT_EQ(adds[0].tiles, (std::vector<tile_value>{{m, {1, 0, 0}}, {m + 1, {0, 1, 0}}}));
    EXPECT_EQ(adds[1].block, m / 10 + 1);
    // 70 minutes later the same field: the older block is superseded, and stays so.
    add_event(adds, minute_blocks, events::event_type::impression, t0 + 70 * 60'000);
    add_event(adds, minute_blocks, events::event_type::click, t0 + 2 * 60'000);
    ASSERT_EQ(adds.size(), 2u);
    EXPECT_EQ(adds[0].block, m / 10 + 7);
    EXPECT_EQ(adds[0].tiles, (std::vector<tile_value>{{m + 70, {1, 0, 0}}}));
}

TEST(tile_blocks, a_field_keeps_the_newest_block_whatever_the_order)
{
    const auto m = tile_of(t0, minute_tiles);
    auto one = [&](std::int64_t t, events::event_type type = events::event_type::impression) {
        std::vector<block_add> adds;
        add_event(adds, minute_blocks, type, t);
        return adds.at(0);
    };
    const auto held = *merge_block(std::nullopt, one(t0));
    EXPECT_EQ(held, fmt::format("{}:1:0:0", m));
    // The same block: tiles merged in order.
    EXPECT_EQ(merge_block(held, one(t0 + 60'000, events::event_type::click)),
              fmt::format("{}:1:0:0,{}:0:1:0", m, m + 1));
    EXPECT_EQ(merge_block(held, one(t0 - 60'000)), fmt::format("{}:1:0:0,{}:1:0:0", m - 1, m));
    // A newer block for the field resets it; an older one is dropped.
    EXPECT_EQ(merge_block(held, one(t0 + 70 * 60'000)), fmt::format("{}:1:0:0", m + 70));
    EXPECT_FALSE(merge_block(fmt::format("{}:1:0:0", m + 70), one(t0)));
    // Unreadable: rebuilt from the add.
    EXPECT_EQ(merge_block("garbage", one(t0)), held);
    EXPECT_EQ(parse_block(held), (std::vector<tile_value>{{m, {1, 0, 0}}}));
    EXPECT_EQ(parse_block(""), std::vector<tile_value>{});
    EXPECT_FALSE(parse_block("1:2:3"));
}

TEST(tile_blocks, the_ring_holds_every_tile_a_window_reads)
{
    // A user active every minute for 30 hours: at each step, the blocks hold all 60 minutes
    // and all 26 hours up to the newest event, whichever field each write touched.
    std::map<std::string, std::string> fields;
    for (int minute = 0; minute < 30 * 60; ++minute) {
        const auto t = t0 + minute * 60'000;
        for (const auto* b : {&minute_blocks, &hour_blocks}) {
            std::vector<block_add> adds;
            add_event(adds, *b, events::event_type::impression, t);
            for (const auto& a : adds) {
                auto it = fields.find(a.field);
                auto v = merge_block(
                    it == fields.end() ? std::nullopt : std::optional<std::string_view>(it->second),
                    a);
                ASSERT_TRUE(v);
                fields[a.field] = *v;
            }
        }
        if (minute % 37 != 0) {
            continue;
        }
        auto all = [&](const tile_blocks& b) {
            std::vector<tile_value> tiles;
            for (const auto& [f, v] : fields) {
                const auto parsed = parse_block(v);
                if (f[0] == b.tiles.prefix && parsed) {
                    tiles.insert(tiles.end(), parsed->begin(), parsed->end());
                }
            }
            return tiles;
        };
        const auto in_hour = std::min(minute + 1, 60);
        EXPECT_EQ(window_sum(all(minute_blocks), minute_tiles, t, hour).impressions, in_hour);
        EXPECT_EQ(window_sum(all(minute_blocks), minute_tiles, t, 5 * 60'000).impressions,
                  std::min(minute + 1, 5));
        // 24 h: the minutes of the last 24 hour tiles (t0 is 40 s into its hour's tile).
        const auto hours = window_sum(all(hour_blocks), hour_tiles, t, 24 * hour).impressions;
        const auto first =
            std::max<std::int64_t>(tile_of(t, hour_tiles) - 23, tile_of(t0, hour_tiles));
        std::int64_t expected = 0;
        for (int i = 0; i <= minute; ++i) {
            expected += tile_of(t0 + i * 60'000, hour_tiles) >= first;
        }
        EXPECT_EQ(hours, expected) << minute;
        EXPECT_LE(fields.size(), 13u);
    }
}

TEST(campaign_index, touches_in_order_and_prunes_campaigns_left_for_twice_the_ttl)
{
    campaign_index idx;
    touch(idx, 5, t0);
    touch(idx, 2, t0 + hour);
    touch(idx, 5, t0 - hour);  // older: kept newest
    EXPECT_EQ(idx, (campaign_index{{2, t0 + hour}, {5, t0}}));
    EXPECT_TRUE(prune(idx, t0 + 2 * ttl, ttl).empty());
    EXPECT_EQ(prune(idx, t0 + 2 * ttl + 1, ttl), std::vector<std::uint32_t>{5});
    EXPECT_EQ(idx.size(), 1u);
}

TEST(campaign_index, is_derived_from_the_campaign_fields)
{
    EXPECT_EQ(campaign_of_field("c17"), 17u);
    for (const auto* other : {"own", "c", "cx", "c17x", "c-1", "c4294967296", "b.c1", "m17"}) {
        EXPECT_FALSE(campaign_of_field(other)) << other;
    }
    user_campaign s;
    add_event(s, 7, events::event_type::impression, t0);
    add_event(s, 7, events::event_type::click, t0 + 5000);
    EXPECT_EQ(campaign_newest(format_user_campaign(s)), t0 + 5000);
    EXPECT_EQ(campaign_newest(format_user_campaign(s)), s.newest());
    for (const auto* bad : {"", "1:2", "1:2:3", "1:2:x|", "|"}) {
        EXPECT_FALSE(campaign_newest(bad)) << bad;
    }
}

// The store's write of one user, as redis/key_write.cc does it.
int pruned = 0;
void write(std::map<std::uint32_t, user_campaign>& hash, user_own& own,
           std::map<std::string, std::string>& blocks, campaign_index& idx,
           const std::map<std::uint32_t, user_campaign>& batch, const user_own& batch_own,
           const std::vector<block_add>& batch_blocks)
{
    merge(own, batch_own);
    for (const auto& b : batch_blocks) {
        auto it = blocks.find(b.field);
        if (auto v = merge_block(it == blocks.end() ? std::nullopt
                                                    : std::optional<std::string_view>(it->second),
                                 b)) {
            blocks[b.field] = *v;
        }
    }
    for (const auto& [c, delta] : batch) {
        merge(hash[c], delta, ttl);
        touch(idx, c, hash[c].newest());
    }
    for (auto c : prune(idx, own.newest(), ttl)) {
        hash.erase(c);
        ++pruned;
    }
}

TEST(user_campaign, the_state_depends_on_the_events_not_on_how_they_were_batched)
{
    // A user's events over 25 days (in order, at most 5 min late; campaigns come in phases of
    // about 6 days, so some are pruned and come back), cut into batches of several sizes:
    // every cut gives the same hash as one batch would.
    std::mt19937_64 rng(11);
    struct one
    {
        std::uint32_t campaign, ad;
        events::event_type type;
        std::int64_t t;
    };
    std::vector<one> events_;
    std::int64_t t = t0;
    for (int i = 0; i < 400; ++i) {
        t += static_cast<std::int64_t>(rng() % (3 * hour));
        const auto late = static_cast<std::int64_t>(rng() % 300'000);
        const auto c = static_cast<std::uint32_t>((i / 100) % 2 * 2 + rng() % 3);
        events_.push_back({c, c * 10 + static_cast<std::uint32_t>(rng() % 3),
                           static_cast<events::event_type>(rng() % 3), t - late});
    }
    auto run = [&](std::size_t every) {
        std::map<std::uint32_t, user_campaign> hash, batch;
        user_own own, batch_own;
        std::map<std::string, std::string> blocks;
        std::vector<block_add> batch_blocks;
        campaign_index idx;
        for (std::size_t i = 0; i < events_.size(); ++i) {
            const auto& e = events_[i];
            add_event(batch[e.campaign], e.ad, e.type, e.t);
            add_event(batch_own, e.type, e.t);
            add_event(batch_blocks, minute_blocks, e.type, e.t);
            add_event(batch_blocks, hour_blocks, e.type, e.t);
            if ((i + 1) % every == 0 || i + 1 == events_.size()) {
                write(hash, own, blocks, idx, batch, batch_own, batch_blocks);
                batch.clear();
                batch_own = {};
                batch_blocks.clear();
            }
        }
        std::map<std::string, std::string> out = blocks;
        campaign_index derived;  // what a worker that did not write the user reads
        for (const auto& [c, s] : hash) {
            out[campaign_field(c)] = format_user_campaign(s);
            derived.emplace_back(c, *campaign_newest(out[campaign_field(c)]));
        }
        EXPECT_EQ(idx, derived);
        out["own"] = format_user_own(own);
        return out;
    };
    const auto whole = run(events_.size());
    pruned = 0;
    EXPECT_EQ(run(1), whole);
    EXPECT_GT(pruned, 2);  // campaigns were pruned on the way, and came back
    for (std::size_t every : {1, 2, 3, 7, 50}) {
        EXPECT_EQ(run(every), whole) << "batches of " << every;
    }
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

TEST(read, tiles_in_reads_exactly_the_slot_fields_in_slot_order)
{
    // What a lookup of each slot's field ("{dim}m{slot}") finds, in slot order: the reference.
    auto looked_up = [](const hash_fields& h, std::string_view dim) {
        std::vector<tile_value> out;
        for (int slot = 0; slot < minute_tiles.slots; ++slot) {
            auto it = h.find(std::string(dim) + minute_tiles.prefix + std::to_string(slot));
            if (it != h.end()) {
                if (auto v = parse_tile(it->second)) {
                    out.push_back(*v);
                }
            }
        }
        return out;
    };
    std::mt19937 rng(5);
    for (int round = 0; round < 50; ++round) {
        hash_fields h;
        for (int k = 0; k < 80; ++k) {
            const auto tile = tile_of(t0, minute_tiles) - static_cast<std::int64_t>(rng() % 120);
            const auto value = format_tile({tile, {static_cast<std::int64_t>(rng() % 9), 1, 0}});
            const std::string dims[] = {"", "d:ios:", "g:US-CA:"};
            h[dims[rng() % 3] + slot_prefix(tile, minute_tiles)] = value;
        }
        // Spellings that are not a slot's field, and a field that does not parse as a tile.
        for (const char* f : {"m05", "m60", "m-1", "m+2", "mx", "m", "d:ios:m007", "m1x"}) {
            h[f] = format_tile({tile_of(t0, minute_tiles), {1000, 0, 0}});
        }
        h["m" + std::to_string(rng() % 60)] = "not a tile";
        for (std::string_view dim : {"", "d:ios:", "g:US-CA:", "g:FR:"}) {
            const auto got = tiles_in(h, minute_tiles, dim);
            const auto want = looked_up(h, dim);
            ASSERT_EQ(got.size(), want.size()) << dim;
            for (std::size_t i = 0; i < got.size(); ++i) {
                EXPECT_EQ(got[i].tile, want[i].tile);
                EXPECT_EQ(got[i].c, want[i].c);
            }
        }
    }
}

TEST(read, user_recency_is_relative_to_as_of_and_absent_when_unknown)
{
    user_own own;
    std::vector<block_add> blocks;
    hash_fields h;
    for (const auto t : {t0 - 30'000, t0 - 10 * 60'000, t0 - 2 * hour}) {
        add_event(own, events::event_type::impression, t);
        add_event(blocks, minute_blocks, events::event_type::impression, t);
        add_event(blocks, hour_blocks, events::event_type::impression, t);
    }
    for (const auto& b : blocks) {
        h[b.field] = *merge_block(std::nullopt, b);
    }
    h["own"] = format_user_own(own);
    auto f = user_features_of(h, t0);
    ASSERT_TRUE(f.seconds_since_impression);
    EXPECT_DOUBLE_EQ(*f.seconds_since_impression, 30.0);
    EXPECT_EQ(f.last_5m, (counts{1, 0, 0}));
    EXPECT_EQ(f.last_1h, (counts{2, 0, 0}));
    EXPECT_EQ(f.last_24h, (counts{3, 0, 0}));
    EXPECT_EQ(newest_ms(h), t0 - 30'000);  // a user's as-of: the newest in `own`
    EXPECT_EQ(newest_ms({{"asof", "17"}}), 17);
    EXPECT_EQ(newest_ms({}), 0);
    EXPECT_FALSE(f.seconds_since_click);
    EXPECT_NE(to_json(f).find("\"seconds_since_click\":null"), std::string::npos);
}

TEST(read, campaign_frequency_and_recency_come_from_the_packed_fields)
{
    user_campaign seen, old;
    add_event(seen, 7, events::event_type::impression, t0 - 2 * hour);
    add_event(seen, 7, events::event_type::impression, t0 - 60'000);
    add_event(seen, 8, events::event_type::click, t0 - 30'000);
    add_event(old, 9, events::event_type::impression, t0 - 30 * hour);  // beyond 24 h
    hash_fields h{{"c3", format_user_campaign(seen)},
                  {"c4", format_user_campaign(old)},
                  {"own", "0:0:0|||3:1,4:1"},
                  {"c5", "garbage"}};
    const auto f = user_features_of(h, t0);
    ASSERT_EQ(f.campaigns.size(), 1u);
    const auto& c = f.campaigns.at(3);
    EXPECT_EQ(c.last_1h, (counts{1, 1, 0}));
    EXPECT_EQ(c.last_24h, (counts{2, 1, 0}));
    EXPECT_DOUBLE_EQ(*c.seconds_since_impression, 60.0);
    EXPECT_DOUBLE_EQ(*c.seconds_since_click, 30.0);
    EXPECT_NE(to_json(f).find("\"campaigns\":{\"3\":{\"last_1h\""), std::string::npos);
}

}  // namespace
}  // namespace adsx::features
