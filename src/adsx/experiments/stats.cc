#include "adsx/experiments/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace adsx::experiments {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Orders of `p` from the smallest value up.
std::vector<std::size_t> ascending(std::span<const double> p)
{
    std::vector<std::size_t> order(p.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](auto i, auto j) { return p[i] < p[j]; });
    return order;
}

}  // namespace

double z_two_sided(double alpha)
{
    return boost::math::quantile(boost::math::complement(boost::math::normal(), alpha / 2));
}

difference welch(const sample& a, const sample& b, double alpha)
{
    const double ea = a.variance / a.n;
    const double eb = b.variance / b.n;
    difference d;
    d.estimate = b.mean - a.mean;
    d.std_error = std::sqrt(ea + eb);
    if (!(d.std_error > 0) || a.n < 2 || b.n < 2) {
        d.statistic = nan;
        d.df = nan;
        d.p = nan;
        d.low = d.high = nan;
        return d;
    }
    d.statistic = d.estimate / d.std_error;
    d.df = (ea + eb) * (ea + eb) / (ea * ea / (a.n - 1) + eb * eb / (b.n - 1));
    const boost::math::students_t t(d.df);
    d.p = 2 * boost::math::cdf(boost::math::complement(t, std::abs(d.statistic)));
    const double q = boost::math::quantile(boost::math::complement(t, alpha / 2));
    d.low = d.estimate - q * d.std_error;
    d.high = d.estimate + q * d.std_error;
    return d;
}

difference z_test(double estimate, double std_error, double alpha)
{
    difference d;
    d.estimate = estimate;
    d.std_error = std_error;
    d.df = infinity;
    if (!(std_error > 0) || !std::isfinite(estimate)) {
        d.statistic = d.p = d.low = d.high = nan;
        return d;
    }
    d.statistic = estimate / std_error;
    d.p =
        2 * boost::math::cdf(boost::math::complement(boost::math::normal(), std::abs(d.statistic)));
    const double q = z_two_sided(alpha);
    d.low = estimate - q * std_error;
    d.high = estimate + q * std_error;
    return d;
}

chi_square_result chi_square(std::span<const double> observed, std::span<const double> weights)
{
    const double total = std::accumulate(observed.begin(), observed.end(), 0.0);
    const double weight = std::accumulate(weights.begin(), weights.end(), 0.0);
    chi_square_result r;
    r.df = static_cast<double>(observed.size()) - 1;
    if (observed.size() < 2 || !(total > 0) || !(weight > 0)) {
        return r;
    }
    for (std::size_t i = 0; i < observed.size(); ++i) {
        const double expected = total * weights[i] / weight;
        r.statistic += (observed[i] - expected) * (observed[i] - expected) / expected;
    }
    r.p = boost::math::cdf(boost::math::complement(boost::math::chi_squared(r.df), r.statistic));
    return r;
}

std::vector<double> adjust(std::span<const double> p, correction c)
{
    const auto order = ascending(p);
    const double m = static_cast<double>(p.size());
    std::vector<double> out(p.size());
    if (c == correction::holm) {
        double running = 0;  // step-down: adjusted values never decrease along the order
        for (std::size_t k = 0; k < order.size(); ++k) {
            running = std::max(running, std::min(1.0, (m - static_cast<double>(k)) * p[order[k]]));
            out[order[k]] = running;
        }
        return out;
    }
    double running = 1;  // step-up: adjusted values never increase against the order
    for (std::size_t k = order.size(); k-- > 0;) {
        running = std::min(running, m / static_cast<double>(k + 1) * p[order[k]]);
        out[order[k]] = std::min(1.0, running);
    }
    return out;
}

sequential msprt(double estimate, double std_error, double tau, double alpha, double previous_p)
{
    sequential s{previous_p, nan, nan};
    const double v = std_error * std_error;
    const double t2 = tau * tau;
    if (!(v > 0) || !(t2 > 0) || !std::isfinite(estimate)) {
        return s;
    }
    const double log_ratio =
        0.5 * std::log(v / (v + t2)) + estimate * estimate * t2 / (2 * v * (v + t2));
    s.p = std::min(previous_p, std::min(1.0, std::exp(-log_ratio)));
    const double half =
        std::sqrt(v * (v + t2) / t2 * (std::log((v + t2) / v) - 2 * std::log(alpha)));
    s.low = estimate - half;
    s.high = estimate + half;
    return s;
}

namespace {

double normal_cdf(double x)
{
    return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

double normal_pdf(double x)
{
    return std::exp(-x * x / 2) / std::sqrt(2 * M_PI);
}

// The O'Brien–Fleming-type spending function of a symmetric two-sided test: each side spends
// α₁(t) = 2 − 2Φ(z_{α₁/2} / √t) of its α₁ = α / 2.
double spent(double alpha, double t)
{
    if (!(t > 0)) {
        return 0;
    }
    return 2 * (2 - 2 * normal_cdf(z_two_sided(alpha / 2) / std::sqrt(std::min(t, 1.0))));
}

constexpr int grid_points = 49;    // odd, for Simpson's rule
constexpr double no_boundary = 8;  // |Z| beyond 8 has chance 1e-15

}  // namespace

double group_sequential::next(double info, double t)
{
    const double i_k = std::max(info, _info * (1 + 1e-9));  // information never falls
    const double delta = i_k - _info, sd = std::sqrt(i_k), step = std::sqrt(delta);
    const double target = spent(_alpha, t) - _spent;
    // P(|S| ≥ b) at this look, S the score Z·√I, and its slope in b.
    auto crossing = [&](double b, double& slope) {
        if (_s.empty()) {
            slope = -2 * normal_pdf(b / sd) / sd;
            return 2 * (1 - normal_cdf(b / sd));
        }
        double p = 0;
        slope = 0;
        for (std::size_t j = 0; j < _s.size(); ++j) {
            const double lo = (-b - _s[j]) / step, hi = (b - _s[j]) / step;
            p += _w[j] * (normal_cdf(lo) + 1 - normal_cdf(hi));
            slope -= _w[j] * (normal_pdf(lo) + normal_pdf(hi)) / step;
        }
        return p;
    };
    double c = no_boundary, slope = 0;
    if (target > 1e-12 && crossing(no_boundary * sd, slope) < target) {
        // Newton from the first look's answer, kept inside a shrinking bracket [lo, hi].
        double lo = 0, hi = no_boundary;
        c = std::min(z_two_sided(std::min(target, 1.0)), no_boundary - 1e-6);
        for (int it = 0; it < 60 && hi - lo > 1e-9; ++it) {
            const double f = crossing(c * sd, slope) - target;
            (f > 0 ? lo : hi) = c;
            const double newton = c - f / (slope * sd);
            c = (newton > lo && newton < hi && slope < 0) ? newton : (lo + hi) / 2;
        }
    }
    _spent += std::max(target, 0.0);
    // The sub-density of S after this look, where the test continued (Simpson weights folded
    // in).
    const double half = c * sd, h = 2 * half / (grid_points - 1);
    std::vector<double> s(grid_points), w(grid_points);
    for (int i = 0; i < grid_points; ++i) {
        s[static_cast<std::size_t>(i)] = -half + i * h;
        const double simpson = (i == 0 || i == grid_points - 1) ? 1 : (i % 2 == 1 ? 4 : 2);
        double d = 0;
        if (_s.empty()) {
            d = normal_pdf(s[static_cast<std::size_t>(i)] / sd) / sd;
        } else {
            for (std::size_t j = 0; j < _s.size(); ++j) {
                d += _w[j] * normal_pdf((s[static_cast<std::size_t>(i)] - _s[j]) / step);
            }
            d /= step;
        }
        w[static_cast<std::size_t>(i)] = simpson * h / 3 * d;
    }
    _s = std::move(s);
    _w = std::move(w);
    _info = i_k;
    return c >= no_boundary ? infinity : c;
}

std::vector<double> spending_bounds(std::span<const double> info, std::span<const double> t,
                                    double alpha)
{
    group_sequential g(alpha);
    std::vector<double> c;
    for (std::size_t k = 0; k < info.size(); ++k) {
        c.push_back(g.next(info[k], t[k]));
    }
    return c;
}

double group_sequential_p(std::span<const double> z, std::span<const double> info,
                          std::span<const double> t, double previous_p)
{
    // Whether some look reaches its boundary at `alpha` (a larger alpha lowers every one).
    auto rejects = [&](double alpha) {
        group_sequential g(alpha);
        for (std::size_t k = 0; k < z.size(); ++k) {
            if (std::abs(z[k]) >= g.next(info[k], t[k])) {
                return true;
            }
        }
        return false;
    };
    // The looks before the last cross nothing below previous_p, and the last crosses at every
    // α above one it crosses at: unless it crosses at previous_p, p stays (one pass over the
    // looks, which is what most looks cost).
    double lo = 1e-12, hi = std::min(previous_p, 1 - 1e-9);
    if (z.empty()) {
        return previous_p;
    }
    group_sequential at_previous(hi);
    double last = infinity;
    for (std::size_t k = 0; k < z.size(); ++k) {
        last = at_previous.next(info[k], t[k]);
    }
    if (std::abs(z.back()) < last) {
        return previous_p;
    }
    if (rejects(lo)) {
        return lo;
    }
    while (hi / lo > 1.001) {  // on a log scale, to 0.1 %: p-values span orders of magnitude
        const double mid = std::sqrt(lo * hi);
        (rejects(mid) ? hi : lo) = mid;
    }
    return hi;
}

double minimum_detectable_effect(double std_error, double alpha, double power)
{
    const boost::math::normal z;
    return (z_two_sided(alpha) + boost::math::quantile(z, power)) * std_error;
}

relative_lift relative(double a, double a_se, double b, double b_se)
{
    if (a == 0 || b == 0) {
        return {a == 0 ? nan : b / a - 1, nan};
    }
    const double r = b / a;
    return {r - 1, std::abs(r) * std::sqrt(a_se * a_se / (a * a) + b_se * b_se / (b * b))};
}

double percentile(std::vector<double>& values, double q)
{
    if (values.empty()) {
        return nan;
    }
    const double rank = (static_cast<double>(values.size()) - 1) * q / 100;
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo),
                     values.end());
    const double low = values[lo];
    if (lo + 1 >= values.size()) {
        return low;
    }
    const double high =
        *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
    return low + (rank - static_cast<double>(lo)) * (high - low);
}

}  // namespace adsx::experiments
