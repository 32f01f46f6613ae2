// Assignment is the same everywhere: fixed vectors (shared with python/tests/test_experiments.py),
// a uniform spread over buckets, arms cut by weight, holdout and layer ranges respected.
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adsx/experiments/assignment.h"

namespace adsx::experiments {
namespace {

TEST(Assignment, FixedVectorsAreTheContract)
{
    EXPECT_EQ(bucket("s1", "ranking", "K1:00ff"), 6932u);
    EXPECT_EQ(bucket("", "", ""), 5340u);
    EXPECT_EQ(bucket("exp-42", "layer0",
                     "K1:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
              4847u);
    EXPECT_EQ(bucket("salt", "l", "u"), 6655u);
}

TEST(Assignment, SaltAndLayerReshuffleUsers)
{
    int same_salt = 0, same_layer = 0;
    for (int u = 0; u < 1000; ++u) {
        const auto id = "K1:" + std::to_string(u);
        same_salt += bucket("a", "l", id) == bucket("b", "l", id) ? 1 : 0;
        same_layer += bucket("a", "l", id) == bucket("a", "m", id) ? 1 : 0;
    }
    EXPECT_LT(same_salt, 5);
    EXPECT_LT(same_layer, 5);
}

TEST(Assignment, BucketsAreUniform)
{
    std::array<int, 10> deciles{};
    const int n = 100'000;
    for (int u = 0; u < n; ++u) {
        deciles[bucket("salt", "layer", "user-" + std::to_string(u)) / 1000] += 1;
    }
    double chi2 = 0;
    for (int c : deciles) {
        chi2 += (c - n / 10.0) * (c - n / 10.0) / (n / 10.0);
    }
    EXPECT_LT(chi2, 27.88);  // the χ²(9) quantile at 0.999
}

TEST(Assignment, ArmsSplitByWeightInsideTheRangeAfterTheHoldout)
{
    const std::vector<double> weights = {1, 3};
    const split s{.first = 1000, .count = 2000, .holdout = 200, .weights = weights};
    EXPECT_EQ(choose(s, 999), std::nullopt);   // before the experiment's range
    EXPECT_EQ(choose(s, 3000), std::nullopt);  // after it
    EXPECT_EQ(choose(s, 1000), std::nullopt);  // holdout
    EXPECT_EQ(choose(s, 1199), std::nullopt);
    EXPECT_EQ(choose(s, 1200), 0u);  // 1,800 buckets in arms: 450 for arm 0, 1,350 for arm 1
    EXPECT_EQ(choose(s, 1649), 0u);
    EXPECT_EQ(choose(s, 1650), 1u);
    EXPECT_EQ(choose(s, 2999), 1u);
    std::array<int, 2> count{};
    for (std::uint32_t b = 0; b < buckets; ++b) {
        if (auto arm = choose(s, b)) {
            count[*arm] += 1;
        }
    }
    EXPECT_EQ(count[0], 450);
    EXPECT_EQ(count[1], 1350);
}

}  // namespace
}  // namespace adsx::experiments
