#include "adsx/ranking/model.h"

#include <cassert>

namespace adsx::ranking {

std::string_view name(model_family f) noexcept
{
    switch (f) {
        case model_family::lr:
            return "lr";
        case model_family::xgboost:
            return "xgboost";
    }
    return "lr";
}

std::optional<model_family> parse_model_family(std::string_view s) noexcept
{
    if (s == "lr") {
        return model_family::lr;
    }
    if (s == "xgboost") {
        return model_family::xgboost;
    }
    return std::nullopt;
}

model::model(model_info info, feature_spec spec, std::unique_ptr<const scorer> margins,
             double negative_rate, calibration cal)
  : _info(std::move(info)), _spec(std::move(spec)), _scorer(std::move(margins)),
    _negative_rate(negative_rate), _calibration(std::move(cal))
{
    assert(_scorer != nullptr);
    assert(negative_rate > 0 && negative_rate <= 1);
}

result<void> model::margins(const batch& rows, std::span<double> out) const
{
    return _scorer->margins(rows, out);
}

result<void> model::score(const batch& rows, std::span<double> probabilities) const
{
    if (auto r = _scorer->margins(rows, probabilities); !r) {
        return r;
    }
    for (double& p : probabilities) {
        p = probability(p);
    }
    return {};
}

double model::probability(double margin) const noexcept
{
    return _calibration.apply(correct_downsampling(sigmoid(margin), _negative_rate));
}

}  // namespace adsx::ranking
