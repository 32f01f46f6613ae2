// live_experiments: assigns as the assigner does, lists the model arms to load, keeps the last
// experiments when a refresh fails, and assigns nobody before the first load.
#include <gtest/gtest.h>

#include "adsx/serving/live_experiments.h"

namespace adsx::serving {
namespace {

experiments::experiment_spec two_arms()
{
    return {.name = "exp-1",
            .layer = "models",
            .salt = "exp-1",
            .first = 0,
            .count = experiments::buckets,
            .holdout = 0,
            .arms = {"a", "b"},
            .weights = {1, 1},
            .model_arms = {"control", "xgb"},
            .reserve_scales = {1, 2.5}};
}

TEST(LiveExperiments, AssignsLikeTheAssignerAndKeepsTheLastOnFailure)
{
    bool broken = false;
    live_experiments live([&]() -> result<std::vector<experiments::experiment_spec>> {
        if (broken) {
            return fail(error_code::unavailable, "postgres is down");
        }
        return std::vector{two_arms()};
    });
    EXPECT_EQ(live.assign("k1:0"), std::nullopt);  // nothing loaded yet
    const auto arms = live.refresh();
    ASSERT_TRUE(arms);
    EXPECT_EQ(*arms, (std::vector<std::string>{"control", "xgb"}));
    const experiments::assigner reference({two_arms()});
    for (int u = 0; u < 200; ++u) {
        const auto user = "k1:" + std::to_string(u);
        const auto got = live.assign(user);
        const auto want = reference.assign(user);
        ASSERT_TRUE(got && want);
        EXPECT_EQ(got->experiment, "exp-1");
        EXPECT_EQ(got->arm, want->arm_name());
        EXPECT_EQ(got->model_arm, want->model_arm());
        EXPECT_EQ(got->reserve_scale, got->arm == "b" ? 2.5 : 1.0);
    }
    broken = true;
    EXPECT_FALSE(live.refresh());
    EXPECT_TRUE(live.assign("k1:1").has_value());  // still the last experiments
}

TEST(LiveExperiments, NoRunningExperimentAssignsNobody)
{
    live_experiments live([] { return result<std::vector<experiments::experiment_spec>>{}; });
    ASSERT_TRUE(live.refresh());
    EXPECT_EQ(live.assign("k1:1"), std::nullopt);
}

}  // namespace
}  // namespace adsx::serving
