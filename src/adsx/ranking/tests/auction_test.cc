// Proves the auction's rules on hand-checked cases: eCPM per bid kind, one bidder paying the
// reserve, a reserve above every bid leaving the slots empty, ties broken by ad id, priority
// tiers ranked before eCPM with second price taken within a tier, and a price never above the
// bid for any random field of candidates.
#include <random>

#include <gtest/gtest.h>

#include "adsx/ranking/auction.h"

namespace adsx::ranking {
namespace {

bidder make(std::uint32_t ad, bid_kind k, double bid, int priority = 3, double pctr = 0.01,
            double pcvr = 0.1)
{
    return {ad_id{ad}, campaign_id{ad * 10}, k, bid, priority, pctr, pcvr};
}

TEST(auction, ecpm_per_bid_kind)
{
    EXPECT_DOUBLE_EQ(ecpm(make(1, bid_kind::cpm, 2.5)), 2.5);
    EXPECT_DOUBLE_EQ(ecpm(make(1, bid_kind::cpc, 0.8, 3, 0.02)), 0.8 * 0.02 * 1000);
    EXPECT_DOUBLE_EQ(ecpm(make(1, bid_kind::cpa, 30, 3, 0.02, 0.05)), 30 * 0.02 * 0.05 * 1000);
}

TEST(auction, second_price_in_the_bid_unit)
{
    // CPC 1.0 × 0.02 → eCPM 20; CPM 12; CPM 5.
    std::vector<bidder> c = {make(1, bid_kind::cpm, 12), make(2, bid_kind::cpc, 1.0, 3, 0.02),
                             make(3, bid_kind::cpm, 5)};
    auto w = run_auction(c, {.slots = 2, .reserve_ecpm = 1});
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[0].candidate, 1u);
    EXPECT_DOUBLE_EQ(w[0].price_ecpm, 12);
    EXPECT_DOUBLE_EQ(w[0].price, 12 / (0.02 * 1000));  // per click: 0.6 < bid 1.0
    EXPECT_EQ(w[1].candidate, 0u);
    EXPECT_DOUBLE_EQ(w[1].price, 5);
}

TEST(auction, one_bidder_pays_the_reserve_and_a_reserve_above_every_bid_leaves_no_winner)
{
    std::vector<bidder> one = {make(4, bid_kind::cpm, 3)};
    auto w = run_auction(one, {.slots = 3, .reserve_ecpm = 0.75});
    ASSERT_EQ(w.size(), 1u);
    EXPECT_DOUBLE_EQ(w[0].price, 0.75);
    EXPECT_TRUE(run_auction(one, {.slots = 3, .reserve_ecpm = 3.01}).empty());
    EXPECT_EQ(run_auction(one, {.slots = 3, .reserve_ecpm = 3.0}).size(), 1u);  // at the floor
    std::vector<bidder> zero = {make(5, bid_kind::cpc, 1, 3, 0.0)};
    EXPECT_TRUE(run_auction(zero, {.slots = 1}).empty());  // no value, no impression
}

TEST(auction, ties_are_broken_by_ad_id_and_pay_the_tied_price)
{
    std::vector<bidder> c = {make(9, bid_kind::cpm, 4), make(3, bid_kind::cpm, 4),
                             make(6, bid_kind::cpm, 4)};
    auto w = run_auction(c, {.slots = 3});
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(c[w[0].candidate].ad.value, 3u);
    EXPECT_EQ(c[w[1].candidate].ad.value, 6u);
    EXPECT_EQ(c[w[2].candidate].ad.value, 9u);
    EXPECT_DOUBLE_EQ(w[0].price, 4);
    EXPECT_DOUBLE_EQ(w[2].price, 0);  // the tier's last pays the reserve (none here)
}

TEST(auction, priority_tiers_rank_first_and_price_within_their_tier)
{
    std::vector<bidder> c = {make(1, bid_kind::cpm, 50, 3), make(2, bid_kind::cpm, 2, 1),
                             make(3, bid_kind::cpm, 1.5, 1), make(4, bid_kind::cpm, 40, 3)};
    auto w = run_auction(c, {.slots = 3, .reserve_ecpm = 0.5});
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(c[w[0].candidate].ad.value, 2u);  // tier 1 before a 25× higher remnant bid
    EXPECT_DOUBLE_EQ(w[0].price, 1.5);
    EXPECT_EQ(c[w[1].candidate].ad.value, 3u);
    EXPECT_DOUBLE_EQ(w[1].price, 0.5);  // last of its tier: the reserve
    EXPECT_EQ(c[w[2].candidate].ad.value, 1u);
    EXPECT_DOUBLE_EQ(w[2].price, 40);
}

TEST(auction, a_price_is_never_above_the_bid)
{
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0, 1);
    for (int round = 0; round < 2000; ++round) {
        std::vector<bidder> c;
        const int n = 1 + static_cast<int>(u(rng) * 20);
        for (int i = 0; i < n; ++i) {
            c.push_back(make(static_cast<std::uint32_t>(i + 1),
                             static_cast<bid_kind>(static_cast<int>(u(rng) * 3)), u(rng) * 10,
                             1 + static_cast<int>(u(rng) * 3), u(rng) * 0.1, u(rng) * 0.2));
        }
        for (const auto& w : run_auction(c, {.slots = 5, .reserve_ecpm = u(rng) * 5})) {
            EXPECT_LE(w.price, c[w.candidate].bid * (1 + 1e-12));
            EXPECT_LE(w.price_ecpm, w.ecpm);
        }
    }
}

}  // namespace
}  // namespace adsx::ranking
