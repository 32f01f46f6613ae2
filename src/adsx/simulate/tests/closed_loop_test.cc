// Proves the closed loop's virtual users against services written here: users are drawn by
// activity without repeats; every event decodes by the contract and carries the request id and
// the arm the answer named; clicks and conversions follow only what was served, after the
// scaled delays; realised clicks match the truth's p(click) of the served ads within 4 sd; a
// service that ranks by the truth reaches the oracle's CTR and one that ranks at random the
// random pick's; what is still due at the end is counted, not lost silently.
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/events/codec.h"
#include "adsx/simulate/closed_loop.h"
#include "adsx/simulate/generator.h"
#include "adsx/simulate/truth.h"

namespace adsx::simulate {
namespace {

constexpr std::int64_t t0 = 1'790'000'000'000 + 2 * day_ms;

struct recorded : event_sink
{
    std::vector<std::string> json;
    void write(std::string_view, std::string_view j) override { json.emplace_back(j); }
};

std::vector<member> members_of(const std::vector<std::uint32_t>& users)
{
    std::vector<member> out;
    for (auto u : users) {
        out.push_back({u, fmt::format("t:{:032x}", u), "CONSENT", "203.0.113.0"});
    }
    return out;
}

// Ads of the user's audience in flight on the day, by true p(click) at slot 1 given what the
// user saw (`seen`), best first (or shuffled: `random`).
std::vector<std::uint32_t> ranked(const world& w, const rank_call& c, const truth::exposures& seen,
                                  bool random, rng& r)
{
    const auto& u = w.users[c.who->user];
    const int day = static_cast<int>((c.time_ms - (t0 - 2 * day_ms)) / day_ms);
    std::vector<std::pair<double, std::uint32_t>> scored;
    for (std::uint32_t a = 0; a < w.ads.size(); ++a) {
        const auto& camp = w.campaigns[w.ads[a].campaign];
        if ((camp.geo_mask >> u.geo & 1u) &&
            (camp.device_mask >> static_cast<int>(u.device) & 1u) && day >= camp.flight_start_day &&
            day < camp.flight_end_day) {
            const int hour = local_hour_of(c.time_ms, geos[u.geo].utc_offset_hours);
            const auto before = seen.before(w, a, c.time_ms);
            scored.emplace_back(random
                                    ? r.uniform()
                                    : truth::p_click(w, {u, w.ads[a], hour, 1, c.placement,
                                                         before.same_campaign, before.ad_recently}),
                                a);
        }
    }
    std::sort(scored.begin(), scored.end(), std::greater<>());
    std::vector<std::uint32_t> out;
    for (const auto& s : scored) {
        out.push_back(s.second);
    }
    return out;
}

struct loop_run
{
    world w = world::build({.seed = 5, .users = 5'000, .days = 7});
    recorded sink;
    std::map<std::string, arm_tally> tallies;
    std::set<std::string> request_ids;
    undelivered lost;

    // `requests` calls; the service ranks by truth for arm "oracle", at random for "random",
    // and answers nothing on every 50th call.
    explicit loop_run(int requests, double time_scale = 60, bool drain = true)
    {
        auto users = choose_users(w, 500, 9);
        virtual_users vu(
            w, {.seed = 3, .slots = 2, .time_scale = time_scale, .world_start_ms = t0 - 2 * day_ms},
            members_of(users), 0);
        rng r(4);
        std::map<std::uint32_t, truth::exposures> seen;  // what the service knows users saw
        std::int64_t now = t0;
        for (int i = 0; i < requests; ++i) {
            now += 50;
            auto call = vu.next(now);
            const bool random = i % 2 == 1;
            rank_answer a;
            a.request_id = random_uuid(r);
            request_ids.insert(fmt::format("{}", i));
            a.experiment = "exp";
            a.arm = random ? "random" : "oracle";
            auto& saw = seen[call.who->user];
            auto order = ranked(w, call, saw, random, r);
            const bool answers = i % 50 != 49;
            for (std::size_t s = 0; s < order.size() && s < 2; ++s) {
                a.ads.push_back({order[s] + 1, static_cast<int>(s) + 1, 1.5});
                if (answers) {
                    saw.add(order[s], now);
                }
            }
            vu.answered(call, answers ? &a : nullptr, 2.0, now, sink);
            vu.flush(now, sink);
        }
        if (drain) {
            vu.flush(now + 365 * day_ms, sink);
        }
        lost = vu.abandon();
        tallies = vu.tallies();
    }
};

TEST(closed_loop, chooses_distinct_users_by_activity)
{
    const auto w = world::build({.seed = 5, .users = 5'000, .days = 7});
    auto users = choose_users(w, 1'000, 9);
    EXPECT_EQ(users.size(), 1'000u);
    EXPECT_EQ(std::set<std::uint32_t>(users.begin(), users.end()).size(), 1'000u);
    // Busy users (low ranks) are far more likely to be drawn than the tail.
    auto head = std::count_if(users.begin(), users.end(), [](auto u) { return u < 500; });
    auto tail = std::count_if(users.begin(), users.end(), [](auto u) { return u >= 4'500; });
    EXPECT_GT(head, tail + 20) << head << " vs " << tail;
    EXPECT_EQ(choose_users(w, 1'000, 9), users);  // seeded
    EXPECT_EQ(choose_users(w, 9'000, 9).size(), 5'000u);
}

TEST(closed_loop, events_follow_what_was_served_and_carry_request_and_arm)
{
    loop_run run(4'000);
    events::decoder d;
    std::map<std::string, std::int64_t> shown;  // request_id/ad -> impression time
    std::map<std::string, std::int64_t> clicked;
    std::map<std::string, int> types;
    for (const auto& j : run.sink.json) {
        events::event e;
        auto bad = d.decode(j, e);
        ASSERT_FALSE(bad) << j << " field " << (bad ? bad->field : "");
        char id[events::uuid_text_size];
        events::format_uuid(e.request_id, id);
        const auto key = fmt::format("{}/{}", std::string_view(id, sizeof id), e.ad_id);
        EXPECT_EQ(e.experiment, "exp");
        EXPECT_TRUE(e.arm == "oracle" || e.arm == "random") << e.arm;
        ++types[std::string(events::name(e.type))];
        if (e.type == events::event_type::impression) {
            shown[key] = e.event_time_ms;
        } else if (e.type == events::event_type::click) {
            ASSERT_TRUE(shown.contains(key)) << "a click of an ad not served: " << j;
            EXPECT_GE(e.event_time_ms, shown[key]);
            // 30 minutes at most, scaled down 60 times
            EXPECT_LE(e.event_time_ms - shown[key], 30 * 60'000 / 60 + 1);
            clicked[key] = e.event_time_ms;
        } else {
            ASSERT_TRUE(clicked.contains(key)) << "a conversion without a click: " << j;
            EXPECT_GE(e.event_time_ms, clicked[key]);
            EXPECT_GT(e.revenue, 0);
        }
    }
    const auto& o = run.tallies.at("exp/oracle");
    const auto& rnd = run.tallies.at("exp/random");
    const auto& none = run.tallies.at("(no answer)");
    EXPECT_EQ(o.requests + rnd.requests + none.requests, 4'000u);
    EXPECT_EQ(none.errors, 4'000u / 50);
    EXPECT_EQ(o.errors + rnd.errors, 0u);
    EXPECT_EQ(types["impression"], static_cast<int>(o.impressions + rnd.impressions));
    EXPECT_EQ(types["click"], static_cast<int>(o.clicks + rnd.clicks));
    EXPECT_EQ(types["conversion"], static_cast<int>(o.conversions + rnd.conversions));
    EXPECT_EQ(run.lost.clicks + run.lost.conversions, 0u);
    EXPECT_EQ(o.latency_ms.size(), o.requests - o.errors);
}

TEST(closed_loop, realised_clicks_match_the_truth_and_rankers_reach_their_bounds)
{
    loop_run run(30'000);
    for (const auto& [label, t] : run.tallies) {
        if (t.impressions == 0) {
            continue;
        }
        const double sd = std::sqrt(t.true_ctr);
        EXPECT_NEAR(static_cast<double>(t.clicks), t.true_ctr, 4 * sd + 5) << label;
    }
    const auto& o = run.tallies.at("exp/oracle");
    const auto& rnd = run.tallies.at("exp/random");
    // Ranking by the truth is the oracle (up to fatigue, which the oracle's pick also sees);
    // ranking at random is the random pick, in expectation.
    EXPECT_NEAR(o.true_ctr / o.oracle_ctr, 1.0, 0.02);
    EXPECT_NEAR(rnd.true_ctr / rnd.random_ctr, 1.0, 0.05);
    EXPECT_GT(o.oracle_ctr / static_cast<double>(o.impressions),
              1.3 * rnd.random_ctr / static_cast<double>(rnd.impressions));
}

TEST(closed_loop, what_is_still_due_at_the_end_is_counted)
{
    // Real delays over 100 s of requests: conversions (~90 min after the click) mostly cannot
    // arrive; clicks (~8 s) mostly can.
    loop_run run(2'000, 1.0, false);
    std::uint64_t clicks = 0, conversions = 0;
    for (const auto& [label, t] : run.tallies) {
        clicks += t.clicks;
        conversions += t.conversions;
    }
    EXPECT_GT(run.lost.conversions, 5 * conversions);
    EXPECT_GT(clicks, run.lost.clicks);
    EXPECT_GT(run.lost.clicks, 0u);
}

}  // namespace
}  // namespace adsx::simulate
