#pragma once
// The statistics of an A/B analysis, pure functions of summary numbers (the user is the unit):
// Welch's t-test, a z-test for delta-method estimates, the χ² test behind sample-ratio mismatch,
// Holm and Benjamini–Hochberg adjustments, the mixture SPRT behind always-valid p-values and
// confidence sequences, and the minimum detectable effect. Distributions are Boost.Math's.
//
// Each function equals a named reference so that tests can hold it to 1e-9:
//   welch(a, b)          == scipy.stats.ttest_ind_from_stats(..., equal_var=False)
//   chi_square(obs, w)   == scipy.stats.chisquare(obs, sum(obs) * w / sum(w))
//   adjust(p, holm|bh)   == statsmodels.stats.multitest.multipletests(p, method=holm|fdr_bh)[1]
//
//   auto t = welch({.mean = 0.51, .variance = 0.25, .n = 1000}, {.mean = 0.55, ...});
//   if (t.p < 0.05) ...
#include <cstddef>
#include <span>
#include <vector>

namespace adsx::experiments {

// One arm's sample of a per-user metric: mean, unbiased variance (n − 1), number of users.
struct sample
{
    double mean = 0;
    double variance = 0;
    double n = 0;
};

// A difference b − a: its estimate, standard error, test statistic, degrees of freedom
// (infinity for a z-test), two-sided p-value and (1 − alpha) confidence interval.
struct difference
{
    double estimate = 0;
    double std_error = 0;
    double statistic = 0;
    double df = 0;
    double p = 1;
    double low = 0;
    double high = 0;
};

// Welch's unequal-variance t-test of mean(b) − mean(a), Welch–Satterthwaite degrees of freedom.
[[nodiscard]] difference welch(const sample& a, const sample& b, double alpha);

// A two-sided z-test of an estimate with a known standard error (delta-method estimates).
[[nodiscard]] difference z_test(double estimate, double std_error, double alpha);

// The two-sided normal quantile z such that P(|Z| > z) = alpha.
[[nodiscard]] double z_two_sided(double alpha);

struct chi_square_result
{
    double statistic = 0;
    double df = 0;
    double p = 1;
};
// Pearson's goodness-of-fit test of counts against the shares `weights` (any positive scale).
[[nodiscard]] chi_square_result chi_square(std::span<const double> observed,
                                           std::span<const double> weights);

enum class correction
{
    holm,
    benjamini_hochberg,
};
// Adjusted p-values (same order as `p`), capped at 1.
[[nodiscard]] std::vector<double> adjust(std::span<const double> p, correction c);

// The mixture sequential probability ratio test (Johari et al., "Always Valid Inference", 2017)
// with a normal mixture N(0, tau²) over the true difference. For an estimate with standard error
// se, `p` stays valid however often it is looked at, provided the caller keeps the running minimum
// over looks (`msprt_p(..., previous)`); [low, high] is the confidence sequence at that look.
struct sequential
{
    double p = 1;
    double low = 0;
    double high = 0;
};
[[nodiscard]] sequential msprt(double estimate, double std_error, double tau, double alpha,
                               double previous_p = 1);

// A group-sequential test for a planned horizon (Lan & DeMets 1983, O'Brien–Fleming-type
// spending, each side α₁(t) = 2 − 2Φ(z_{α₁/2} / √t) of α₁ = α / 2). Each look gives the statistic's
// information (1 / se², rising) and the share t of the planned horizon elapsed (rising; capped at
// 1); next() returns the two-sided boundary for |Z| at that look, such that with no true difference
// the chance of |Z| reaching a boundary at or before the look is α(t). Unlike the mixture SPRT it
// spends all of α by the end of the horizon, however many looks there are (they need not be
// planned), and none after it (boundaries are then infinite). The boundary solves the crossing
// probability by numerical integration of the score's density over the looks (Armitage, McPherson &
// Rowe 1969; Jennison & Turnbull 2000, ch. 19) on a 49-point Simpson grid.
class group_sequential
{
public:
    explicit group_sequential(double alpha) : _alpha(alpha) {}
    [[nodiscard]] double next(double info, double t);

private:
    double _alpha;
    double _info = 0, _spent = 0;
    std::vector<double> _s, _w;  // the score's sub-density where the test continued
};

// The boundaries of all looks at once.
[[nodiscard]] std::vector<double> spending_bounds(std::span<const double> info,
                                                  std::span<const double> t, double alpha);

// The repeated p-value after looks with statistics z[k] (Jennison & Turnbull 1989): the
// smallest α whose boundaries some look's |z| reaches (to 0.1 %), so that "p < α at any look"
// happens with chance α under no difference. Never rises as looks are added: give the p of
// the looks before the last as `previous_p` and only the last is searched.
[[nodiscard]] double group_sequential_p(std::span<const double> z, std::span<const double> info,
                                        std::span<const double> t, double previous_p = 1);

// The smallest absolute difference a two-sided test at `alpha` detects with probability `power`
// when the difference's standard error is `std_error`.
[[nodiscard]] double minimum_detectable_effect(double std_error, double alpha, double power);

// The relative lift b / a − 1 of two independent estimates and its delta-method standard error.
struct relative_lift
{
    double lift = 0;
    double std_error = 0;
};
[[nodiscard]] relative_lift relative(double a, double a_se, double b, double b_se);

// numpy.percentile(values, q) with its default linear interpolation; reorders `values`.
[[nodiscard]] double percentile(std::vector<double>& values, double q);

}  // namespace adsx::experiments
