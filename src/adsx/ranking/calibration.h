#pragma once
// From a model's raw probability to the one it serves (docs/models.md, "Scoring a row", steps
// 2–4): sigmoid of the margin, the correction for negative downsampling, then calibration.
//
//   auto cal = adsx::ranking::calibration::isotonic({0.0, 0.5, 1.0}, {0.0, 0.2, 1.0});
//   double p = cal->apply(correct_downsampling(sigmoid(margin), 0.25));
//
// Immutable; safe to share between threads.
#include <span>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::ranking {

// 1 / (1 + exp(−margin)), in double.
[[nodiscard]] double sigmoid(double margin) noexcept;

// q = p / (p + (1 − p) / w) for negatives kept at rate w in (0, 1]; w = 1 returns p unchanged.
[[nodiscard]] double correct_downsampling(double p, double negative_rate) noexcept;

// numpy.interp(x, xp, fp) bit for bit: fp[0] below xp[0], fp[last] above xp[last], fp[j] at a
// knot (the last of equal knots), NaN for NaN (except with a single knot, as numpy), else
// slope·(x − xp[j]) + fp[j] with j the last knot ≤ x. xp must be non-decreasing and as long as
// fp (not checked here; calibration::isotonic checks).
[[nodiscard]] double interp(double x, std::span<const double> xp,
                            std::span<const double> fp) noexcept;

enum class calibration_method
{
    none,
    platt,
    isotonic,
};

[[nodiscard]] std::string_view name(calibration_method m) noexcept;

class calibration
{
public:
    calibration() = default;  // none: q as it is

    // sigmoid(a · logit(clamp(q, 1e-15, 1 − 1e-15)) + b).
    [[nodiscard]] static calibration platt(double a, double b);
    // numpy.interp(q, x, y). invalid_argument unless x and y have the same length ≥ 1, x is
    // non-decreasing and every value is finite.
    [[nodiscard]] static result<calibration> isotonic(std::vector<double> x, std::vector<double> y);

    [[nodiscard]] double apply(double q) const noexcept;
    [[nodiscard]] calibration_method method() const noexcept { return _method; }
    [[nodiscard]] double a() const noexcept { return _a; }  // platt
    [[nodiscard]] double b() const noexcept { return _b; }
    [[nodiscard]] std::span<const double> x() const noexcept { return _x; }  // isotonic knots
    [[nodiscard]] std::span<const double> y() const noexcept { return _y; }

private:
    calibration_method _method = calibration_method::none;
    double _a = 1;
    double _b = 0;
    std::vector<double> _x;
    std::vector<double> _y;
};

}  // namespace adsx::ranking
