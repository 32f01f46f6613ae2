// Proves the per-user-day totals the collector writes: one row per experiment, arm, user and
// UTC day; counts by event type, revenue from conversions, spend from every event's price;
// device and geo of the row's first event; events outside experiments in rows of their own.
#include <gtest/gtest.h>

#include "adsx/experiments/user_days.h"

namespace adsx::experiments {
namespace {

constexpr std::int64_t day0 = 1'790'035'200'000;  // 2026-09-22T00:00:00Z

events::event make(events::event_type t, std::string_view user, std::int64_t time,
                   std::string_view exp, std::string_view arm, double price, double revenue = 0)
{
    events::event e;
    e.type = t;
    e.user_id = user;
    e.event_time_ms = time;
    e.experiment = exp;
    e.arm = arm;
    e.price = price;
    e.revenue = revenue;
    e.device = events::device_type::ios;
    e.geo = "US-CA";
    return e;
}

TEST(user_days, totals_by_experiment_arm_user_and_utc_day)
{
    using events::event_type;
    user_days t;
    t.add(make(event_type::impression, "u1", day0 + 10, "x", "a", 0.002));
    t.add(make(event_type::impression, "u1", day0 + 20, "x", "a", 0.003));
    t.add(make(event_type::click, "u1", day0 + 30, "x", "a", 0.5));
    t.add(make(event_type::conversion, "u1", day0 + 40, "x", "a", 0, 12.5));
    t.add(make(event_type::impression, "u1", day0 - 1, "", "", 0.001));  // the day before
    auto other = make(event_type::impression, "u2", day0 + 86'400'000, "x", "b", 0.004);
    other.device = events::device_type::desktop;
    t.add(other);
    ASSERT_EQ(t.size(), 3u);
    const auto& a = t.rows().at({"x", "a", "u1", "2026-09-22"});
    EXPECT_EQ(a.value.impressions, 2);
    EXPECT_EQ(a.value.clicks, 1);
    EXPECT_EQ(a.value.conversions, 1);
    EXPECT_DOUBLE_EQ(a.value.revenue, 12.5);
    EXPECT_DOUBLE_EQ(a.spend, 0.505);
    EXPECT_EQ(a.device, "ios");
    EXPECT_EQ(a.geo, "US-CA");
    EXPECT_EQ(t.rows().at({"", "", "u1", "2026-09-21"}).value.impressions, 1);
    EXPECT_EQ(t.rows().at({"x", "b", "u2", "2026-09-23"}).device, "desktop");
    t.clear();
    EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace adsx::experiments
