#include "adsx/xgb/booster.h"

#include <cstdio>

#include <fmt/format.h>
#include <xgboost/c_api.h>

namespace adsx::xgb {

namespace {

// In-place prediction of margins over every tree, without the training-time behaviour (dart
// dropout). "missing": NaN is what the Python package sends for missing=np.nan; XGBoost 1.7
// requires "cache_id": 0 as well.
constexpr const char* predict_config =
    R"({"type": 1, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
    R"("strict_shape": false, "missing": NaN, "cache_id": 0})";

}  // namespace

error last_error(std::string_view what)
{
    return error{error_code::internal, fmt::format("{}: {}", what, XGBGetLastError())};
}

void booster::handle_deleter::operator()(void* handle) const noexcept
{
    XGBoosterFree(handle);
}

result<booster> booster::load(const std::filesystem::path& json_file)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(json_file, ec)) {
        return fail(error_code::not_found, "does not exist");
    }
    BoosterHandle raw = nullptr;
    if (XGBoosterCreate(nullptr, 0, &raw) != 0) {
        return fail(last_error("XGBoost cannot create a booster"));
    }
    booster b{handle_ptr(raw)};
    if (XGBoosterLoadModel(raw, json_file.c_str()) != 0) {
        return fail(last_error("XGBoost cannot load the model"));
    }
    if (XGBoosterSetParam(raw, "nthread", "1") != 0) {
        return fail(last_error("XGBoost refuses nthread=1"));
    }
    // One prediction now configures the learner, before any thread shares it.
    auto n = b.num_features();
    if (!n) {
        return fail(n.error());
    }
    std::vector<float> row(*n, std::numeric_limits<float>::quiet_NaN());
    double margin = 0;
    if (auto r = b.predict_margins(row, 1, row.size(), {&margin, 1}); !r) {
        return fail(r.error());
    }
    return b;
}

result<std::uint64_t> booster::num_features() const
{
    bst_ulong n = 0;
    if (XGBoosterGetNumFeature(_handle.get(), &n) != 0) {
        return fail(last_error("XGBoost cannot tell the number of features"));
    }
    return std::uint64_t{n};
}

result<std::vector<std::string>> booster::feature_names() const
{
    bst_ulong n = 0;
    const char** names = nullptr;
    if (XGBoosterGetStrFeatureInfo(_handle.get(), "feature_name", &n, &names) != 0) {
        return fail(last_error("XGBoost cannot tell the feature names"));
    }
    return std::vector<std::string>(names, names + n);
}

result<void> booster::predict_margins(std::span<const float> values, std::size_t rows,
                                      std::size_t columns, std::span<double> out) const
{
    if (values.size() != rows * columns || out.size() != rows) {
        return fail(error_code::invalid_argument,
                    fmt::format("{} values and {} outputs for {} rows × {} columns", values.size(),
                                out.size(), rows, columns));
    }
    if (rows == 0) {
        return {};
    }
    // numpy's __array_interface__ of the matrix, version 3: (address, read-only), shape, "<f4".
    char interface[160];
    std::snprintf(interface, sizeof interface,
                  R"({"data": [%ju, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                  static_cast<std::uintmax_t>(reinterpret_cast<std::uintptr_t>(values.data())),
                  rows, columns);
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* margins = nullptr;
    if (XGBoosterPredictFromDense(_handle.get(), interface, predict_config, nullptr, &shape, &dims,
                                  &margins) != 0) {
        return fail(last_error("XGBoost prediction failed"));
    }
    bst_ulong size = 1;
    for (bst_ulong d = 0; d < dims; ++d) {
        size *= shape[d];
    }
    if (size != rows) {
        return fail(error_code::internal,
                    fmt::format("XGBoost gave {} outputs for {} rows: the model is not a binary "
                                "classifier",
                                size, rows));
    }
    for (std::size_t r = 0; r < rows; ++r) {
        out[r] = static_cast<double>(margins[r]);
    }
    return {};
}

}  // namespace adsx::xgb
