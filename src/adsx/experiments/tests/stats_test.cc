// The statistics against published worked examples (Wikipedia's Welch example, Kohavi, Tang &
// Xu's SRM example, Benjamini & Hochberg's 1995 example) and against scipy/statsmodels values to
// 1e-12; the Python parity test (tests/integration/test_experiment_stats.py) covers whole reports.
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "adsx/experiments/stats.h"

namespace adsx::experiments {
namespace {

sample of(const std::vector<double>& v)
{
    const double n = static_cast<double>(v.size());
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
    double ss = 0;
    for (double x : v) {
        ss += (x - mean) * (x - mean);
    }
    return {mean, ss / (n - 1), n};
}

// Wikipedia, "Welch's t-test", example 1: t = −2.46, ν ≈ 24.99, p = 0.021.
TEST(Stats, WelchReproducesThePublishedExample)
{
    const auto a1 = of(
        {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4});
    const auto a2 = of(
        {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4});
    const auto d = welch(a2, a1, 0.05);  // mean(a1) − mean(a2), as the example states it
    EXPECT_NEAR(d.statistic, -2.46, 0.005);
    EXPECT_NEAR(d.df, 24.99, 0.005);
    EXPECT_NEAR(d.p, 0.021, 0.0005);
    // scipy.stats.ttest_ind(a1, a2, equal_var=False)
    EXPECT_NEAR(d.statistic, -2.455356398286006, 1e-12);
    EXPECT_NEAR(d.df, 24.988529290231416, 1e-10);
    EXPECT_NEAR(d.p, 0.021378001462866985, 1e-12);
    EXPECT_LT(d.low, d.estimate);
    EXPECT_GT(d.high, d.estimate);
    EXPECT_LT(d.high, 0);  // significant at 5 %: the interval excludes 0
}

// Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments" (2020), ch. 3: 821,588 vs
// 815,482 users in a 50/50 test, p ≈ 1.8e-6.
TEST(Stats, SampleRatioMismatchReproducesThePublishedExample)
{
    const std::vector<double> users = {821588, 815482}, weights = {1, 1};
    const auto r = chi_square(users, weights);
    EXPECT_NEAR(r.statistic, 22.77436884189436, 1e-9);
    EXPECT_NEAR(r.p, 1.8217928726191858e-06, 1e-15);
    EXPECT_EQ(r.df, 1);
    const std::vector<double> uneven = {2000, 6000}, quarter = {25, 75};
    EXPECT_NEAR(chi_square(uneven, quarter).p, 1.0, 1e-12);  // any weight scale
}

// Benjamini & Hochberg (1995), §4: of these 15 p-values BH rejects 4 at q = 0.05, while
// Bonferroni-type procedures (Holm) reject 3; adjusted values are statsmodels'.
TEST(Stats, CorrectionsReproduceThePublishedExample)
{
    const std::vector<double> p = {0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
                                   0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000};
    const auto holm = adjust(p, correction::holm);
    const auto bh = adjust(p, correction::benjamini_hochberg);
    auto rejected = [](const std::vector<double>& a) {
        return std::count_if(a.begin(), a.end(), [](double x) { return x < 0.05; });
    };
    EXPECT_EQ(rejected(holm), 3);
    EXPECT_EQ(rejected(bh), 4);
    const std::vector<double> holm_ref = {
        0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1, 1, 1, 1, 1, 1};
    const std::vector<double> bh_ref = {
        0.0015, 0.003,  0.0095, 0.035625,          0.0603,   0.0638571428571428, 0.0638571428571428,
        0.0645, 0.0765, 0.486,  0.581181818181818, 0.714875, 0.753230769230769,  0.813214285714285,
        1};
    for (std::size_t i = 0; i < p.size(); ++i) {
        EXPECT_NEAR(holm[i], holm_ref[i], 1e-12) << i;
        EXPECT_NEAR(bh[i], bh_ref[i], 1e-12) << i;
    }
    // Order does not matter: the adjusted value follows its p.
    const std::vector<double> shuffled = {p[4], p[0], p[14], p[2]};
    const auto s = adjust(shuffled, correction::holm);
    EXPECT_NEAR(s[1], 4 * p[0], 1e-15);
    EXPECT_NEAR(s[3], 3 * p[2], 1e-15);
}

TEST(Stats, ZTestAndIntervals)
{
    const auto d = z_test(1.96, 1.0, 0.05);
    EXPECT_NEAR(d.p, 0.04999579029644097, 1e-12);  // scipy.stats.norm.sf(1.96) * 2
    EXPECT_NEAR(d.low, 1.96 - 1.959963984540054, 1e-12);
    EXPECT_NEAR(z_two_sided(0.05), 1.959963984540054, 1e-12);
    EXPECT_TRUE(std::isnan(z_test(1, 0, 0.05).p));
}

TEST(Stats, MixtureSprtIsAFormulaAndNeverRisesOverLooks)
{
    // p = 1 / Λ, Λ = sqrt(V / (V + τ²)) exp(τ² Δ² / (2 V (V + τ²))), Johari et al. (2017) eq. (9).
    const double v = 0.01 * 0.01, t2 = 0.05 * 0.05, est = 0.03;
    const double lambda = std::sqrt(v / (v + t2)) * std::exp(t2 * est * est / (2 * v * (v + t2)));
    const auto s = msprt(est, 0.01, 0.05, 0.05);
    EXPECT_NEAR(s.p, 1 / lambda, 1e-12);
    EXPECT_LT(s.low, est);
    EXPECT_GT(s.high, est);
    // The confidence sequence is wider than the fixed-horizon interval: the price of peeking.
    EXPECT_GT(s.high - s.low, 2 * 1.96 * 0.01);
    // A look with weaker evidence keeps the earlier p.
    EXPECT_EQ(msprt(0.0, 0.01, 0.05, 0.05, s.p).p, s.p);
    // Its interval contains 0 exactly when p ≥ alpha.
    for (double e : {0.0, 0.01, 0.02, 0.03, 0.04, 0.05}) {
        const auto x = msprt(e, 0.01, 0.05, 0.05);
        EXPECT_EQ(x.p<0.05, x.low> 0 || x.high < 0) << e;
    }
}

// Lan & DeMets O'Brien–Fleming-type boundaries for five equally spaced looks at two-sided
// α = 0.05, as published (Jennison & Turnbull 2000, table 7.6; R's ldbounds and gsDesign
// sfLDOF): 4.877, 3.357, 2.680, 2.290, 2.031. One look at the horizon is the fixed test.
TEST(Stats, SpendingBoundsReproduceThePublishedOBrienFlemingValues)
{
    const std::vector<double> info{1, 2, 3, 4, 5}, t{0.2, 0.4, 0.6, 0.8, 1.0};
    const auto c = spending_bounds(info, t, 0.05);
    const std::vector<double> published{4.8769, 3.3569, 2.6803, 2.2898, 2.0310};
    ASSERT_EQ(c.size(), published.size());
    for (std::size_t k = 0; k < c.size(); ++k) {
        EXPECT_NEAR(c[k], published[k], 2e-3) << k;
    }
    EXPECT_NEAR(spending_bounds(std::vector<double>{7}, std::vector<double>{1}, 0.05)[0], 1.959964,
                1e-6);
    // Past the horizon nothing is left to spend.
    const auto after = spending_bounds(std::vector<double>{1, 2}, std::vector<double>{1, 1}, 0.05);
    EXPECT_TRUE(std::isinf(after[1]));
}

// Under no difference, paths of a score with independent increments cross some boundary of 14
// daily looks (information growing unevenly, as users arrive) with chance α.
TEST(Stats, SpendingBoundsHoldAlphaOnSimulatedPaths)
{
    std::vector<double> info, t;
    for (int k = 1; k <= 14; ++k) {
        // Early days add more information than late ones.
        info.push_back((info.empty() ? 0 : info.back()) + 20.0 - k);
        t.push_back(k / 14.0);
    }
    const auto c = spending_bounds(info, t, 0.05);
    std::mt19937_64 rng(7);
    std::normal_distribution<double> n01;
    const int paths = 40'000;
    int crossed = 0;
    for (int p = 0; p < paths; ++p) {
        double score = 0, before = 0;
        for (std::size_t k = 0; k < info.size(); ++k) {
            score += n01(rng) * std::sqrt(info[k] - before);
            before = info[k];
            if (std::abs(score / std::sqrt(info[k])) >= c[k]) {
                ++crossed;
                break;
            }
        }
    }
    const double rate = static_cast<double>(crossed) / paths;
    EXPECT_NEAR(rate, 0.05, 0.004);  // 3.6 binomial standard errors
}

TEST(Stats, RepeatedPValueIsTheSmallestAlphaThatCrosses)
{
    // One look at the horizon: the fixed test's p.
    const double z = 2.3, fixed = std::erfc(z / std::sqrt(2.0));
    EXPECT_NEAR(
        group_sequential_p(std::vector<double>{z}, std::vector<double>{4}, std::vector<double>{1}),
        fixed, fixed * 2e-3);
    // Several looks: p < α exactly when some look crosses its boundary at α.
    const std::vector<double> info{1, 2, 3, 4, 5}, t{0.2, 0.4, 0.6, 0.8, 1.0};
    for (const auto& zs : std::vector<std::vector<double>>{
             {0.5, 1.0, 2.0, 2.5, 2.1}, {1, 1, 1, 1, 1}, {3.5, 0, 0, 0, 0}, {0, 0, 0, 0, 2.2}}) {
        const double p = group_sequential_p(zs, info, t);
        for (double alpha : {0.01, 0.05, 0.1}) {
            const auto c = spending_bounds(info, t, alpha);
            bool crosses = false;
            for (std::size_t k = 0; k < zs.size(); ++k) {
                crosses = crosses || std::abs(zs[k]) >= c[k];
            }
            EXPECT_EQ(p < alpha * 0.999 || (crosses && p <= alpha * 1.001), crosses)
                << zs[0] << " " << alpha << " p=" << p;
        }
    }
}

TEST(Stats, MinimumDetectableEffectAndRelativeLift)
{
    // (z_0.975 + z_0.8) · se = (1.959964 + 0.841621) · se
    EXPECT_NEAR(minimum_detectable_effect(0.01, 0.05, 0.8), 0.028015852, 1e-8);
    const auto r = relative(0.10, 0.001, 0.11, 0.001);
    EXPECT_NEAR(r.lift, 0.1, 1e-12);
    EXPECT_NEAR(r.std_error, 1.1 * std::sqrt(0.01 * 0.01 + (0.001 / 0.11) * (0.001 / 0.11)), 1e-12);
}

TEST(Stats, PercentileInterpolatesLikeNumpy)
{
    std::vector<double> v = {5, 1, 4, 2, 3};
    EXPECT_DOUBLE_EQ(percentile(v, 50), 3);
    EXPECT_DOUBLE_EQ(percentile(v, 90), 4.6);  // numpy.percentile([1..5], 90)
    EXPECT_DOUBLE_EQ(percentile(v, 100), 5);
    EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
}

}  // namespace
}  // namespace adsx::experiments
