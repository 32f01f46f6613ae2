#pragma once
// The scorer port: a model family's margin (docs/models.md, "Scoring a row", step 1) for every
// row of a batch. Families: LR (lr_scorer.h, here) and trees (src/adsx/xgb/tree_scorer.h).
// `model` (model.h) turns margins into probabilities.
//
// Contract for every implementation:
// - Immutable after load; margins() is const and safe to call from many threads at once on one
//   instance (serving runs one thread per request and shares the loaded model).
// - No heap allocation per row: scratch, where a scorer needs any, lives in thread-local
//   buffers that grow to the largest batch a thread has scored and are reused afterwards.
#include <cstddef>
#include <span>
#include <string_view>

#include "adsx/base/error.h"
#include "adsx/ranking/batch.h"

namespace adsx::ranking {

class scorer
{
public:
    virtual ~scorer() = default;
    scorer() = default;
    scorer(const scorer&) = delete;
    scorer& operator=(const scorer&) = delete;
    scorer(scorer&&) = delete;
    scorer& operator=(scorer&&) = delete;

    // out[row] = the margin of `rows`'s row. invalid_argument when the batch does not have the
    // spec's columns or out.size() != rows.rows(); a scorer's own failure (XGBoost) otherwise.
    [[nodiscard]] virtual result<void> margins(const batch& rows, std::span<double> out) const = 0;

    // Who computes the margins, for logs and benchmarks: "lr", "libxgboost", "native/avx512"
    // or "native/walk" (ranking::forest's kernels).
    [[nodiscard]] virtual std::string_view engine() const noexcept = 0;
};

// The shape check every scorer starts with.
[[nodiscard]] result<void> check_shape(const batch& rows, std::span<const double> out,
                                       std::size_t numeric_columns,
                                       std::size_t categorical_columns);

}  // namespace adsx::ranking
