// Proves the probability maths: the sigmoid; downsampling correction undoing a kept fraction of
// negatives; calibration as identity, Platt (a logistic on the clamped logit) and isotonic
// (refusing bad knots); interp equal to numpy.interp's golden values inside, outside and at the
// knots, at repeated knots, with a single knot, and for NaN.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "adsx/ranking/calibration.h"

namespace adsx::ranking {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

TEST(sigmoid, is_the_logistic_function)
{
    EXPECT_EQ(sigmoid(0.0), 0.5);
    EXPECT_EQ(sigmoid(1.0), 0.7310585786300049);  // Python: 1 / (1 + math.exp(-1))
    EXPECT_EQ(sigmoid(-1000.0), 0.0);
    EXPECT_EQ(sigmoid(1000.0), 1.0);
}

TEST(correct_downsampling, undoes_keeping_a_fraction_of_negatives)
{
    // Half the negatives kept: odds were doubled, p = 0.5 means q = 1/3.
    EXPECT_DOUBLE_EQ(correct_downsampling(0.5, 0.5), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(correct_downsampling(0.2, 0.1), 0.2 / (0.2 + 0.8 / 0.1));
    EXPECT_EQ(correct_downsampling(0.3, 1.0), 0.3);
    EXPECT_EQ(correct_downsampling(0.0, 0.25), 0.0);
    EXPECT_EQ(correct_downsampling(1.0, 0.25), 1.0);
}

TEST(calibration, none_is_the_identity)
{
    EXPECT_EQ(calibration().apply(0.123), 0.123);
    EXPECT_EQ(calibration().method(), calibration_method::none);
}

TEST(calibration, platt_is_a_logistic_on_the_logit)
{
    auto c = calibration::platt(2.0, 1.0);
    EXPECT_EQ(c.apply(0.5), sigmoid(1.0));  // logit(0.5) = 0
    EXPECT_DOUBLE_EQ(calibration::platt(1.0, 0.0).apply(0.3), 0.3);
    // q is clamped to [1e-15, 1 - 1e-15] before the logit: 0 and 1 stay finite.
    EXPECT_NEAR(calibration::platt(1.0, 0.0).apply(0.0), 1e-15, 1e-20);
    EXPECT_NEAR(calibration::platt(1.0, 0.0).apply(1.0), 1.0 - 1e-15, 3e-16);
    EXPECT_LT(calibration::platt(1.0, 0.0).apply(1.0), 1.0);
    EXPECT_EQ(calibration::platt(1.0, 0.0).apply(-3.0), calibration::platt(1.0, 0.0).apply(0.0));
}

// Golden values printed by numpy 1.26 (repr of np.interp's output).
TEST(interp, matches_numpy_inside_outside_and_at_knots)
{
    const std::vector<double> x = {0.0, 0.5, 1.0, 1.5, 2.0, 2.5};  // > 4 knots: bisection
    const std::vector<double> y = {0.0, 0.2, 1.0, 1.0, 1.0, 1.0};
    EXPECT_EQ(interp(0.25, x, y), 0.1);
    EXPECT_EQ(interp(0.75, x, y), 0.6000000000000001);
    EXPECT_EQ(interp(0.3, x, y), 0.12);
    EXPECT_EQ(interp(-1.0, x, y), 0.0);  // clamped to y[0]
    EXPECT_EQ(interp(9.0, x, y), 1.0);   // clamped to y[last]
    EXPECT_EQ(interp(0.5, x, y), 0.2);
    EXPECT_EQ(interp(2.5, x, y), 1.0);
    EXPECT_TRUE(std::isnan(interp(nan, x, y)));
}

TEST(interp, equal_knots_take_the_last_value_at_the_knot)
{
    const std::vector<double> x = {0.0, 0.5, 0.5, 1.0};
    const std::vector<double> y = {0.0, 0.2, 0.4, 1.0};
    EXPECT_EQ(interp(0.5, x, y), 0.4);
    EXPECT_EQ(interp(0.25, x, y), 0.1);
    EXPECT_EQ(interp(0.75, x, y), 0.7);
    EXPECT_EQ(interp(0.4999999, x, y), 0.19999996);
}

TEST(interp, one_knot_is_a_constant_even_for_nan)
{
    const std::vector<double> x = {0.3};
    const std::vector<double> y = {0.7};
    for (double q : {0.1, 0.3, 0.9, nan}) {
        EXPECT_EQ(interp(q, x, y), 0.7) << q;
    }
}

TEST(calibration, isotonic_interpolates_and_checks_its_knots)
{
    auto c = calibration::isotonic({0.0, 0.5, 1.0}, {0.0, 0.2, 1.0});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->apply(0.25), 0.1);
    EXPECT_EQ(c->method(), calibration_method::isotonic);
    EXPECT_FALSE(calibration::isotonic({}, {}));
    EXPECT_FALSE(calibration::isotonic({0.0, 1.0}, {0.5}));
    EXPECT_FALSE(calibration::isotonic({0.0, nan}, {0.0, 1.0}));
    auto down = calibration::isotonic({0.0, 0.6, 0.5}, {0.0, 0.5, 1.0});
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().message, "isotonic knots must not decrease: x[2] = 0.5 < x[1] = 0.6");
}

}  // namespace
}  // namespace adsx::ranking
