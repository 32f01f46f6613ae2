// Proves the seeded randomness: a seed fixes the stream (golden values pin it across platforms)
// and another seed changes it; uniform, normal, exponential and lognormal draws have the right
// moments; alias tables sample by weight, Zipf's by 1/rank; counter_table counts per key through
// growth and clear.
#include <vector>

#include <gtest/gtest.h>

#include "adsx/simulate/random.h"

namespace adsx::simulate {
namespace {

TEST(rng, same_seed_same_stream_and_different_seed_differs)
{
    rng a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) {
        auto x = a.next();
        EXPECT_EQ(x, b.next());
        EXPECT_NE(x, c.next());
    }
}

TEST(rng, golden_values_pin_the_stream_across_platforms)
{
    // If these change, every "byte-identical with the same seed" promise breaks: don't.
    rng r(1);
    EXPECT_EQ(r.next(), 0xb3f2af6d0fc710c5ULL);
    EXPECT_EQ(r.next(), 0x853b559647364ceaULL);
}

TEST(rng, moments_of_distributions)
{
    rng r(7);
    const int n = 200'000;
    double su = 0, sn = 0, sn2 = 0, se = 0, sl = 0;
    for (int i = 0; i < n; ++i) {
        su += r.uniform();
        double z = r.normal();
        sn += z;
        sn2 += z * z;
        se += r.exponential(3.0);
        sl += std::log(r.lognormal(1.5, 0.5));
    }
    EXPECT_NEAR(su / n, 0.5, 0.005);
    EXPECT_NEAR(sn / n, 0.0, 0.01);
    EXPECT_NEAR(sn2 / n, 1.0, 0.01);
    EXPECT_NEAR(se / n, 3.0, 0.03);
    EXPECT_NEAR(sl / n, 1.5, 0.005);
}

TEST(alias_table, frequencies_follow_weights)
{
    alias_table t({1.0, 2.0, 7.0});
    rng r(3);
    std::vector<int> count(3);
    const int n = 300'000;
    for (int i = 0; i < n; ++i) {
        ++count[t.sample(r)];
    }
    EXPECT_NEAR(count[0] / double(n), 0.1, 0.004);
    EXPECT_NEAR(count[1] / double(n), 0.2, 0.004);
    EXPECT_NEAR(count[2] / double(n), 0.7, 0.004);
}

TEST(alias_table, zipf_rank_one_dominates)
{
    auto z = alias_table::zipf(1000, 1.0);
    rng r(5);
    std::vector<int> count(1000);
    for (int i = 0; i < 200'000; ++i) {
        ++count[z.sample(r)];
    }
    // p(rank k) ∝ 1/k: rank 1 twice rank 2, ten times rank 10.
    EXPECT_NEAR(count[0] / double(count[1]), 2.0, 0.1);
    EXPECT_NEAR(count[0] / double(count[9]), 10.0, 1.0);
}

TEST(counter_table, counts_per_key_through_growth_and_clear)
{
    counter_table t(4);
    for (std::uint64_t k = 0; k < 1000; ++k) {
        for (std::uint64_t n = 0; n <= k % 3; ++n) {
            t.increment(k << 32 | 7);
        }
    }
    EXPECT_EQ(t.size(), 1000u);
    for (std::uint64_t k = 0; k < 1000; ++k) {
        EXPECT_EQ(t.get(k << 32 | 7), k % 3 + 1) << k;
    }
    EXPECT_EQ(t.get(12345), 0u);
    t.clear();
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.get(7), 0u);
}

}  // namespace
}  // namespace adsx::simulate
