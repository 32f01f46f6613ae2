#include <set>

#include <gtest/gtest.h>

#include "adsx/base/backoff.h"

using namespace std::chrono_literals;

TEST(backoff, each_wait_is_in_the_upper_half_of_a_doubling_step_up_to_the_cap)
{
    adsx::backoff b(500ms, 8s, 7);
    const std::int64_t steps[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
    for (auto step : steps) {
        const auto wait = b.next().count();
        EXPECT_GE(wait, step / 2) << step;
        EXPECT_LE(wait, step) << step;
    }
    EXPECT_EQ(b.failures(), 7);
}

TEST(backoff, a_reset_starts_from_the_base_again)
{
    adsx::backoff b(100ms, 10s, 1);
    for (int i = 0; i < 5; ++i) {
        (void)b.next();
    }
    b.reset();
    EXPECT_EQ(b.failures(), 0);
    EXPECT_LE(b.next(), 100ms);
}

TEST(backoff, the_same_seed_gives_the_same_waits_and_the_waits_are_jittered)
{
    adsx::backoff a(1s, 1s, 42);
    adsx::backoff b(1s, 1s, 42);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 50; ++i) {
        const auto wait = a.next();
        EXPECT_EQ(wait, b.next());
        seen.insert(wait.count());
    }
    EXPECT_GT(seen.size(), 10U);  // not one fixed delay: clients retrying together spread out
}
