// Proves the inventory's retrieval and eligibility rules: the (geo, device) index returns
// exactly the ads whose campaign targets both, flights are [start, end), exhausted daily or
// lifetime budgets stop delivery, and pacing throttles a campaign that spent ahead of an even
// spread through the day.
#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/serving/inventory.h"

namespace adsx::serving {
namespace {

constexpr std::int64_t midnight = 20'427 * day_ms;

campaign_info campaign(std::uint32_t id, std::vector<std::string> geos, std::uint8_t devices)
{
    campaign_info c;
    c.id = campaign_id{id};
    c.daily_budget = 100;
    c.lifetime_budget = 1000;
    c.flight_start_ms = midnight - day_ms;
    c.flight_end_ms = midnight + day_ms;
    c.geos = std::move(geos);
    c.device_mask = devices;
    return c;
}

inventory sample(std::unordered_map<std::uint32_t, campaign_spend> spend = {})
{
    constexpr auto ios = 1u << static_cast<unsigned>(events::device_type::ios);
    constexpr auto desktop = 1u << static_cast<unsigned>(events::device_type::desktop);
    return inventory::build(
        {campaign(1, {"US-CA", "DE-BE"}, ios), campaign(2, {"US-CA"}, ios | desktop)},
        {{ad_id{11}, "", 0, "a"},
         {ad_id{21}, "", 1, "b"},
         {ad_id{12}, "", 0, "a"},
         {ad_id{99}, "", 7, "orphan"}},
        spend, midnight);
}

std::vector<std::uint32_t> ids(const inventory& inv, std::string_view geo, events::device_type d)
{
    std::vector<std::uint32_t> out;
    for (auto i : inv.targeted(geo, d)) {
        out.push_back(inv.ads()[i].id.value);
    }
    return out;
}

TEST(inventory, retrieves_by_geo_and_device)
{
    const auto inv = sample();
    EXPECT_EQ(ids(inv, "US-CA", events::device_type::ios),
              (std::vector<std::uint32_t>{11, 12, 21}));
    EXPECT_EQ(ids(inv, "US-CA", events::device_type::desktop), (std::vector<std::uint32_t>{21}));
    EXPECT_EQ(ids(inv, "DE-BE", events::device_type::ios), (std::vector<std::uint32_t>{11, 12}));
    EXPECT_TRUE(ids(inv, "FR-IDF", events::device_type::ios).empty());
    EXPECT_FALSE(inv.find(ad_id{99}).has_value());  // its campaign is not in the catalog
    EXPECT_EQ(inv.ads()[*inv.find(ad_id{21})].id_text, "21");
    const auto& a21 = inv.ads()[*inv.find(ad_id{21})];
    EXPECT_TRUE(inv.targets(a21, "US-CA", events::device_type::desktop));
    EXPECT_FALSE(inv.targets(a21, "DE-BE", events::device_type::desktop));
    EXPECT_FALSE(
        inv.targets(inv.ads()[*inv.find(ad_id{11})], "US-CA", events::device_type::desktop));
}

TEST(inventory, flights_budgets_and_pacing)
{
    const auto inv = sample({{1, {60, 500}}, {2, {100, 100}}});
    const auto& a1 = inv.ads()[*inv.find(ad_id{11})];
    const auto& a2 = inv.ads()[*inv.find(ad_id{21})];
    EXPECT_EQ(inv.ineligible(a2, midnight + hour_ms), drop_reason::budget);  // daily spent
    // 60 of 100 spent: throttled before 50 % of the day (+10 % slack), delivered after.
    EXPECT_EQ(inv.ineligible(a1, midnight + 6 * hour_ms), drop_reason::pacing);
    EXPECT_EQ(inv.ineligible(a1, midnight + 12 * hour_ms), std::nullopt);
    EXPECT_EQ(inv.ineligible(a1, midnight + day_ms), drop_reason::flight);  // end: exclusive
    EXPECT_EQ(inv.ineligible(a1, midnight - day_ms - 1), drop_reason::flight);
    const auto spent = sample({{1, {0, 1000}}});
    EXPECT_EQ(spent.ineligible(spent.ads()[0], midnight + hour_ms), drop_reason::budget);
}

}  // namespace
}  // namespace adsx::serving
