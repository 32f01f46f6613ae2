// Assignment is the same everywhere: fixed vectors (shared with python/tests/test_experiments.py),
// a uniform spread over buckets, arms cut by weight, holdout and layer ranges respected.
#include <array>
#include <cmath>
#include <map>
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

experiment_spec spec(std::string name, std::string layer, std::uint32_t first, std::uint32_t count,
                     std::uint32_t holdout = 0)
{
    return {.name = std::move(name),
            .layer = std::move(layer),
            .salt = "salt",
            .first = first,
            .count = count,
            .holdout = holdout,
            .arms = {"a", "b"},
            .weights = {1, 1},
            .model_arms = {"control", "treatment"},
            .reserve_scales = {}};
}

TEST(Assigner, ALayerPartitionsUsersAndLayersAreOrthogonal)
{
    const assigner a(
        {spec("x", "models", 0, 5000), spec("y", "models", 5000, 5000), spec("z", "ui", 0, 10000)});
    std::map<std::string, int> in;
    const int n = 20'000;
    for (int u = 0; u < n; ++u) {
        const auto p = a.assign("K1:" + std::to_string(u));
        ASSERT_TRUE(p.has_value());  // every user is in x or y (they cover the layer)
        in[p->experiment->name + "/" + p->arm_name()] += 1;
    }
    // x and y come first by name and cover the models layer, so z (another layer) never decides.
    EXPECT_EQ(in.count("z/a") + in.count("z/b"), 0u);
    for (const auto* k : {"x/a", "x/b", "y/a", "y/b"}) {
        EXPECT_NEAR(in[k], n / 4, 5 * std::sqrt(n / 4.0)) << k;
    }
    // The layer bucket decides the experiment, whatever the experiment's salt.
    const auto p = a.assign("K1:42");
    EXPECT_EQ(p->experiment->name, bucket("", "models", "K1:42") < 5000 ? "x" : "y");
}

TEST(Assigner, HoldoutAndWeights)
{
    auto e = spec("x", "models", 0, buckets, 1000);  // 10% held out
    e.weights = {1, 3};
    const assigner a({e});
    int none = 0, b = 0;
    const int n = 40'000;
    for (int u = 0; u < n; ++u) {
        const auto p = a.assign("u" + std::to_string(u));
        none += p ? 0 : 1;
        b += p && p->arm == 1 ? 1 : 0;
    }
    EXPECT_NEAR(none, n / 10, 5 * std::sqrt(n * 0.1 * 0.9));
    EXPECT_NEAR(b, n * 0.9 * 0.75, 5 * std::sqrt(n * 0.675 * 0.325));
    // The arm bucket decides: the first 1,000 are the holdout, the next 2,250 arm a.
    for (const auto* user : {"K1:00ff", "K1:0100", "K1:0101", "K1:0102"}) {
        const auto arm_bucket = bucket("salt", "models", user);
        const auto p = a.assign(user);
        EXPECT_EQ(p.has_value(), arm_bucket >= 1000) << user;
        if (p) {
            EXPECT_EQ(p->model_arm(), arm_bucket < 3250 ? "control" : "treatment") << user;
        }
    }
}

TEST(Assigner, ConflictsAreNamed)
{
    EXPECT_EQ(conflict({spec("x", "models", 0, 5000), spec("y", "models", 5000, 5000)}),
              std::nullopt);
    const auto overlap = conflict({spec("x", "models", 0, 5001), spec("y", "models", 5000, 5000)});
    ASSERT_TRUE(overlap.has_value());
    EXPECT_NE(overlap->find("x and y share buckets of layer models"), std::string::npos);
    EXPECT_EQ(conflict({spec("x", "models", 0, 6000), spec("y", "ui", 0, 10000)}), std::nullopt);
    auto bad = spec("x", "models", 0, 100);
    bad.model_arms.pop_back();
    EXPECT_TRUE(conflict({bad}).has_value());
    EXPECT_TRUE(conflict({spec("x", "models", 9000, 2000)}).has_value());
}

}  // namespace
}  // namespace adsx::experiments
