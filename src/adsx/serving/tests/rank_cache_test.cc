// Proves the shared hash cache of POST /rank_ads over a reader that records every key it is
// asked for: within hash_cache_ms requests read only the user's hash; once expired the request
// reads the ads again itself; with refresh_shared_hashes() called ahead, requests keep reading
// only the user's hash, and the refresh reads exactly the working set (the hashes requests
// wanted lately), not ads nobody asked for.
#include <set>

#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/serving/rank_api.h"

namespace adsx::serving {
namespace {

constexpr std::int64_t midnight = 20'427 * day_ms;
constexpr auto ios = 1u << static_cast<unsigned>(events::device_type::ios);

struct recording_reader final : features::online_reader
{
    std::vector<std::vector<std::string>> calls;
    result<std::vector<features::hash_fields>> hashes(const std::vector<std::string>& keys) override
    {
        calls.push_back(keys);
        return std::vector<features::hash_fields>(keys.size());
    }
    std::set<std::string> keys_since(std::size_t call) const
    {
        std::set<std::string> out;
        for (auto i = call; i < calls.size(); ++i) {
            out.insert(calls[i].begin(), calls[i].end());
        }
        return out;
    }
};

campaign_info campaign(std::uint32_t id, std::string geo)
{
    campaign_info c;
    c.id = campaign_id{id};
    c.id_text = std::to_string(id);
    c.bid = 5;
    c.daily_budget = 1e9;
    c.lifetime_budget = 1e9;
    c.flight_start_ms = midnight - day_ms;
    c.flight_end_ms = midnight + day_ms;
    c.geos = {std::move(geo)};
    c.device_mask = ios;
    c.frequency_cap = 100;
    return c;
}

struct rank_cache : ::testing::Test
{
    manual_clock clock{midnight + 3'600'000};
    recording_reader reader;
    live_inventory inventory{
        [] {
            // US-CA users see ads 11 and 12 (campaign 1); ad 21
            // (campaign 2) targets DE-BE only.
            return result<serving::inventory>(inventory::build(
                {campaign(1, "US-CA"), campaign(2, "DE-BE")},
                {{ad_id{11}, "11", 0, "a"}, {ad_id{12}, "12", 0, "a"}, {ad_id{21}, "21", 1, "b"}},
                {}, midnight));
        },
        clock, std::chrono::milliseconds(60'000)};
    rank_settings settings = [] {
        rank_settings s;
        s.hash_cache_ms = 1000;
        return s;
    }();
    rank_api api{{.inventory = inventory,
                  .reader = reader,
                  .models = {},
                  .assign = {},
                  .log = nullptr,
                  .observer = nullptr,
                  .clock = clock},
                 settings};

    void SetUp() override { ASSERT_TRUE(inventory.refresh()); }

    void rank()
    {
        http::request q;
        q.method = "POST";
        q.path = "/rank_ads";
        q.content_type = "application/json";
        q.body = R"({"user_id":"k1:0123456789abcdef0123456789abcdef","slots":2,)"
                 R"("context":{"device":"ios","geo":"US-CA","placement":"feed"}})";
        ASSERT_EQ(api.rank(q).status, 200);
    }
};

TEST_F(rank_cache, requests_read_only_what_is_not_cached_and_refresh_ahead_keeps_it_so)
{
    const std::set<std::string> working = {"a:11", "a:12", "c:1"};
    rank();  // a cold cache: the request reads its candidates' hashes itself
    EXPECT_EQ(reader.keys_since(0), working);
    auto before = reader.calls.size();
    clock.advance(500);
    rank();  // cached: nothing read (no consent string: no user hash either)
    EXPECT_EQ(reader.calls.size(), before);
    clock.advance(700);
    rank();  // expired: the request pays for the re-read
    EXPECT_EQ(reader.keys_since(before), working);

    // Refresh-ahead: nothing while the hashes are young; the working set (ad 21 was never
    // wanted) once they would expire within 200 ms; and requests read nothing.
    clock.advance(500);
    auto young = api.refresh_shared_hashes(200);
    ASSERT_TRUE(young);
    EXPECT_EQ(*young, 0u);
    for (int i = 0; i < 6; ++i) {
        clock.advance(i == 0 ? 350 : 850);  // 850 ms old: expiring within 200 ms
        before = reader.calls.size();
        auto read = api.refresh_shared_hashes(200);
        ASSERT_TRUE(read);
        EXPECT_EQ(*read, working.size());
        EXPECT_EQ(reader.keys_since(before), working);
        before = reader.calls.size();
        rank();
        EXPECT_EQ(reader.calls.size(), before) << "a request read hashes at step " << i;
    }
    // Nobody asks for two cache periods: the refresh stops reading them.
    clock.advance(2'100);
    auto idle = api.refresh_shared_hashes(200);
    ASSERT_TRUE(idle);
    EXPECT_EQ(*idle, 0u);
}

}  // namespace
}  // namespace adsx::serving
