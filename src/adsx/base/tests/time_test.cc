// Proves the time vocabulary: the named durations, to_ms of chrono durations, that the manual
// clock moves only when told, its monotonic time with its wall time (what tests of windows,
// pacing and latencies rely on), and that the system clock's monotonic time does not go back.
#include <gtest/gtest.h>

#include "adsx/base/ids.h"
#include "adsx/base/time.h"

namespace adsx {
namespace {

TEST(time, durations_are_in_milliseconds)
{
    EXPECT_EQ(minute_ms, 60'000);
    EXPECT_EQ(hour_ms, 3'600'000);
    EXPECT_EQ(day_ms, 86'400'000);
    EXPECT_EQ(to_ms(std::chrono::hours(48)), 48 * hour_ms);
    EXPECT_EQ(to_ms(std::chrono::seconds(300)), 5 * minute_ms);
}

TEST(time, manual_clock_moves_only_when_told)
{
    manual_clock c(1'000);
    EXPECT_EQ(c.now_ms(), 1'000);
    c.advance(minute_ms);
    EXPECT_EQ(c.now_ms(), 61'000);
    c.set(5);
    EXPECT_EQ(c.now_ms(), 5);
    const clock& port = c;
    EXPECT_EQ(port.now_ms(), 5);
    EXPECT_EQ(port.monotonic_ns(), 5 * ms_ns);
    c.advance(1500);
    EXPECT_DOUBLE_EQ(seconds(c.monotonic_ns() - 5 * ms_ns), 1.5);
}

TEST(time, utc_dates_and_midnights)
{
    constexpr std::int64_t day0 = 1'790'035'200'000;  // 2026-09-22T00:00:00Z
    EXPECT_EQ(utc_date(0), "1970-01-01");
    EXPECT_EQ(utc_date(-1), "1969-12-31");
    EXPECT_EQ(utc_date(day0 + 86'399'999), "2026-09-22");
    EXPECT_EQ(midnight_utc_ms(day0 + 86'399'999), day0);
    EXPECT_EQ(midnight_utc_ms(day0), day0);
    EXPECT_EQ(utc_minute(day0 + 86'399'999), "2026-09-22 23:59 UTC");
    EXPECT_EQ(utc_minute(-1), "1969-12-31 23:59 UTC");
}

TEST(time, system_clock_is_the_wall_clock)
{
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto now = system_clock::instance().now_ms();
    EXPECT_GE(now, before);
    EXPECT_LT(now - before, 60'000);
    EXPECT_GE(wall_ms(), now);
    const auto& c = system_clock::instance();
    const auto a = c.monotonic_ns();
    EXPECT_GE(c.monotonic_ns(), a);
}

TEST(ids, kinds_do_not_mix_and_compare_by_value)
{
    static_assert(!std::is_convertible_v<ad_id, campaign_id>);
    static_assert(!std::is_convertible_v<std::uint32_t, ad_id>);
    EXPECT_EQ(ad_id{3}, ad_id{3});
    EXPECT_LT(ad_id{2}, ad_id{3});
    EXPECT_EQ(std::hash<ad_id>{}(ad_id{7}), std::hash<std::uint32_t>{}(7));
    EXPECT_EQ(user_id("k1:ab").value, "k1:ab");
}

}  // namespace
}  // namespace adsx
