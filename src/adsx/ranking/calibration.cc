#include "adsx/ranking/calibration.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace adsx::ranking {

namespace {

constexpr double platt_clamp = 1e-15;

// The index j with xp[j] <= x < xp[j + 1]; -1 below xp[0]; the size above xp[last]; the last
// index at xp[last]. Equal knots: the last of them (numpy's binary_search_with_guess).
std::ptrdiff_t knot_at_or_below(double x, std::span<const double> xp) noexcept
{
    const auto n = static_cast<std::ptrdiff_t>(xp.size());
    if (x > xp.back()) {
        return n;
    }
    if (x < xp.front()) {
        return -1;
    }
    // upper_bound: the first knot > x, so the one before is the last knot <= x.
    return std::upper_bound(xp.begin(), xp.end(), x) - xp.begin() - 1;
}

}  // namespace

double sigmoid(double margin) noexcept
{
    return 1.0 / (1.0 + std::exp(-margin));
}

double correct_downsampling(double p, double negative_rate) noexcept
{
    if (negative_rate == 1.0) {
        return p;
    }
    return p / (p + (1.0 - p) / negative_rate);
}

double interp(double x, std::span<const double> xp, std::span<const double> fp) noexcept
{
    if (xp.size() == 1) {
        return fp[0];  // numpy: left, right and the knot's value are all fp[0], even for NaN
    }
    if (std::isnan(x)) {
        return x;
    }
    const auto j = knot_at_or_below(x, xp);
    const auto last = static_cast<std::ptrdiff_t>(xp.size()) - 1;
    if (j == -1) {
        return fp.front();
    }
    if (j > last) {
        return fp.back();
    }
    const auto i = static_cast<std::size_t>(j);
    if (j == last || xp[i] == x) {
        return fp[i];
    }
    const double slope = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i]);
    double y = slope * (x - xp[i]) + fp[i];
    if (std::isnan(y)) {  // numpy: if NaN one way, try the other
        y = slope * (x - xp[i + 1]) + fp[i + 1];
        if (std::isnan(y) && fp[i] == fp[i + 1]) {
            y = fp[i];
        }
    }
    return y;
}

std::string_view name(calibration_method m) noexcept
{
    switch (m) {
        case calibration_method::none:
            return "none";
        case calibration_method::platt:
            return "platt";
        case calibration_method::isotonic:
            return "isotonic";
    }
    return "none";
}

calibration calibration::platt(double a, double b)
{
    calibration c;
    c._method = calibration_method::platt;
    c._a = a;
    c._b = b;
    return c;
}

result<calibration> calibration::isotonic(std::vector<double> x, std::vector<double> y)
{
    if (x.empty() || x.size() != y.size()) {
        return fail(error_code::invalid_argument,
                    fmt::format("isotonic calibration needs as many y as x knots, at least one "
                                "(x has {}, y has {})",
                                x.size(), y.size()));
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
            return fail(error_code::invalid_argument,
                        fmt::format("isotonic knot {} is not finite", i));
        }
        if (i > 0 && x[i] < x[i - 1]) {
            return fail(error_code::invalid_argument,
                        fmt::format("isotonic knots must not decrease: x[{}] = {} < x[{}] = {}", i,
                                    x[i], i - 1, x[i - 1]));
        }
    }
    calibration c;
    c._method = calibration_method::isotonic;
    c._x = std::move(x);
    c._y = std::move(y);
    return c;
}

double calibration::apply(double q) const noexcept
{
    switch (_method) {
        case calibration_method::none:
            return q;
        case calibration_method::platt: {
            const double c = std::clamp(q, platt_clamp, 1.0 - platt_clamp);
            return sigmoid(_a * std::log(c / (1.0 - c)) + _b);
        }
        case calibration_method::isotonic:
            return interp(q, _x, _y);
    }
    return q;
}

}  // namespace adsx::ranking
