#pragma once
// One loaded model version: its identity, its feature spec, a scorer for its family, and the
// steps from margin to served probability (docs/models.md):
//   p = calibrate(correct(sigmoid(margin)))
//
//   auto b = m.make_batch();  b.reset(n);  ... fill ...
//   std::vector<double> p(n);
//   if (auto r = m.score(b, p); !r) return fail(r.error());
//
// Built by src/adsx/models (the registry loader), shared as std::shared_ptr<const model>.
// Immutable; score() is safe to call from many threads at once (scorer.h).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "adsx/base/error.h"
#include "adsx/ranking/batch.h"
#include "adsx/ranking/calibration.h"
#include "adsx/ranking/feature_spec.h"
#include "adsx/ranking/scorer.h"

namespace adsx::ranking {

enum class model_family
{
    lr,
    xgboost,
};

[[nodiscard]] std::string_view name(model_family f) noexcept;
[[nodiscard]] std::optional<model_family> parse_model_family(std::string_view s) noexcept;

// Who a model is: registry name, version, family and head ("ctr" or "cvr").
struct model_info
{
    std::string name;
    std::int64_t version = 0;
    model_family family = model_family::lr;
    std::string head;
};

class model
{
public:
    // `negative_rate` in (0, 1] (the manifest's downsampling.negative_rate).
    model(model_info info, feature_spec spec, std::unique_ptr<const scorer> margins,
          double negative_rate, calibration cal);

    // probabilities[row] = the served probability of each row.
    [[nodiscard]] result<void> score(const batch& rows, std::span<double> probabilities) const;
    // The family's raw margins (step 1 only).
    [[nodiscard]] result<void> margins(const batch& rows, std::span<double> out) const;
    // Steps 2–4 for one margin.
    [[nodiscard]] double probability(double margin) const noexcept;

    // An empty batch with this model's columns.
    [[nodiscard]] batch make_batch() const
    {
        return batch(_spec.numeric.size(), _spec.categorical.size());
    }

    [[nodiscard]] const model_info& info() const noexcept { return _info; }
    // The scorer's engine (scorer.h).
    [[nodiscard]] std::string_view engine() const noexcept { return _scorer->engine(); }
    [[nodiscard]] const feature_spec& features() const noexcept { return _spec; }
    [[nodiscard]] double negative_rate() const noexcept { return _negative_rate; }
    [[nodiscard]] const calibration& calibrator() const noexcept { return _calibration; }

private:
    model_info _info;
    feature_spec _spec;
    std::unique_ptr<const scorer> _scorer;
    double _negative_rate;
    calibration _calibration;
};

}  // namespace adsx::ranking
