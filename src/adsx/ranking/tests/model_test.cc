// Proves the ranking model: a probability is the calibration of the downsampling-corrected
// sigmoid of the margin (the plain sigmoid without either); scoring refuses a batch of another
// shape; model family names round-trip.
#include <cmath>

#include <gtest/gtest.h>

#include "adsx/ranking/lr_scorer.h"
#include "adsx/ranking/model.h"

namespace adsx::ranking {
namespace {

// A model whose margin is its bias plus w·x of one numeric feature (mean 0, scale 1).
model linear_model(double negative_rate, calibration cal)
{
    auto spec = parse_feature_spec(
        R"({"numeric": [{"name": "x", "transform": "none"}], "categorical": [], "crosses": []})");
    EXPECT_TRUE(spec);
    auto s = parse_lr_scorer(R"({"format": "adstreamx-lr/1", "bias": 0.5, "hash_bits": 1,
        "numeric": [{"name": "x", "mean": 0, "scale": 1, "weight": 1}],
        "hashed": {"indices": [], "weights": []}})",
                             *spec);
    EXPECT_TRUE(s) << s.error().message;
    return model({"ctr", 3, model_family::lr, "ctr"}, *spec, std::move(*s), negative_rate,
                 std::move(cal));
}

TEST(model, probability_is_calibrate_of_correct_of_sigmoid)
{
    auto m = linear_model(0.5, calibration::platt(2.0, 1.0));
    auto b = m.make_batch();
    b.reset(2);
    b.set_numeric(0, 0, -0.5);  // margin 0
    b.set_numeric(1, 0, 1.5);   // margin 2
    std::vector<double> p(2);
    ASSERT_TRUE(m.score(b, p));
    // margin 0 -> p 0.5 -> q 1/3 -> sigmoid(2 logit(1/3) + 1)
    const double q0 = 1.0 / 3.0;
    EXPECT_DOUBLE_EQ(p[0], sigmoid(2.0 * std::log(q0 / (1 - q0)) + 1.0));
    const double s2 = sigmoid(2.0);
    const double q2 = s2 / (s2 + (1 - s2) / 0.5);
    EXPECT_DOUBLE_EQ(p[1], sigmoid(2.0 * std::log(q2 / (1 - q2)) + 1.0));
    EXPECT_EQ(m.probability(0.0), p[0]);
    std::vector<double> margins(2);
    ASSERT_TRUE(m.margins(b, margins));
    EXPECT_EQ(margins, (std::vector<double>{0.0, 2.0}));
}

TEST(model, without_downsampling_or_calibration_it_is_the_sigmoid)
{
    auto m = linear_model(1.0, calibration());
    EXPECT_EQ(m.probability(0.0), 0.5);
    EXPECT_EQ(m.probability(1.0), sigmoid(1.0));
    EXPECT_EQ(m.info().version, 3);
    EXPECT_EQ(name(m.info().family), "lr");
}

TEST(model, refuses_a_batch_of_another_shape)
{
    auto m = linear_model(1.0, calibration());
    batch b(0, 1);
    b.reset(1);
    std::vector<double> p(1);
    EXPECT_FALSE(m.score(b, p));
}

TEST(model_family, names_round_trip)
{
    EXPECT_EQ(parse_model_family("xgboost"), model_family::xgboost);
    EXPECT_EQ(parse_model_family("lr"), model_family::lr);
    EXPECT_FALSE(parse_model_family("gbm"));
    EXPECT_EQ(name(model_family::xgboost), "xgboost");
}

}  // namespace
}  // namespace adsx::ranking
