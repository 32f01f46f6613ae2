// The background refresh of live_inventory against a loader that fails on demand (as
// PostgreSQL stopped would): the last snapshot keeps serving, the attempts back off (each wait
// in the upper half of a doubling step, capped at 8 periods), the observer hears of every
// failure and of the recovery, and the failures are counted.
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/serving/live_inventory.h"

namespace adsx::serving {
namespace {

using std::chrono::milliseconds;

TEST(live_inventory, a_failing_refresh_keeps_the_snapshot_and_backs_off_until_it_recovers)
{
    constexpr int outage = 6;  // failed attempts before the loader works again
    const milliseconds every(10);
    manual_clock clock(20'427 * day_ms);
    std::mutex m;
    std::condition_variable cv;
    int loads = 0;
    std::vector<refresh_outcome> heard;
    std::vector<bool> kept;  // per outcome: the snapshot served was still the first load's
    const live_inventory* self = nullptr;
    std::shared_ptr<const inventory> first;
    live_inventory live(
        [&]() -> result<inventory> {
            std::lock_guard lock(m);
            ++loads;
            if (loads > 1 && loads <= 1 + outage) {
                return fail(error_code::unavailable, "connection refused");
            }
            return inventory::build({}, {}, {}, clock.now_ms());
        },
        clock, every,
        [&](const refresh_outcome& o) {
            std::lock_guard lock(m);
            heard.push_back(o);
            kept.push_back(self->get() == first);
            cv.notify_all();
        },
        7);
    self = &live;
    ASSERT_TRUE(live.refresh());
    first = live.get();
    live.start();
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                                [&] { return heard.size() == outage + 1; }));
    }
    live.stop();

    for (int i = 0; i < outage; ++i) {
        const auto& o = heard[static_cast<std::size_t>(i)];
        EXPECT_FALSE(o.ok);
        EXPECT_EQ(o.failures, i + 1);
        EXPECT_EQ(o.error, "connection refused");
        EXPECT_TRUE(kept[static_cast<std::size_t>(i)]) << i;
        const auto step = std::min(every * (1 << i), every * 8);
        EXPECT_GE(o.retry_in, step / 2) << i;
        EXPECT_LE(o.retry_in, step) << i;
    }
    EXPECT_TRUE(heard.back().ok);
    EXPECT_EQ(heard.back().failures, outage);
    EXPECT_EQ(live.failures_total(), static_cast<std::uint64_t>(outage));
    EXPECT_FALSE(live.last_error());
    EXPECT_NE(live.get(), first);  // the recovered refresh swapped a new snapshot in
}

}  // namespace
}  // namespace adsx::serving
