#pragma once
// For tests only (target adsx::xgb_testing): real XGBoost models without Python. Trains a small
// binary:logistic booster through the C API and saves it as xgboost.json, and predicts margins
// through the DMatrix path, independent of the in-place path the tree scorer uses.
//
//   auto t = adsx::xgb::testing::table{rows, cols, values, labels};
//   adsx::xgb::testing::train_and_save(dir / "xgboost.json", t, {"x0", "x1", "device"},
//                                      {"q", "q", "c"});
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::xgb::testing {

// rows × columns float32, row-major, NaN = missing; one 0/1 label per row (may be empty for
// prediction).
struct table
{
    std::size_t rows = 0;
    std::size_t columns = 0;
    std::vector<float> values;
    std::vector<float> labels;
};

// `names` empty: the booster has no feature names. `types` empty: every feature is numeric
// ("q"); "c" marks a categorical feature (codes 0, 1, …), trained with categorical splits.
[[nodiscard]] result<void> train_and_save(const std::filesystem::path& file, const table& data,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::string>& types, int rounds = 8);

// Margins of `data`'s rows from the booster in `file`, through XGDMatrixCreateFromMat and
// XGBoosterPredictFromDMatrix (output_margin).
[[nodiscard]] result<std::vector<float>> predict_margins_via_dmatrix(
    const std::filesystem::path& file, const table& data);

}  // namespace adsx::xgb::testing
