#include "adsx/xgb/testing/train.h"

#include <cmath>
#include <memory>

#include <xgboost/c_api.h>

#include "adsx/xgb/booster.h"

namespace adsx::xgb::testing {

namespace {

struct dmatrix_deleter
{
    void operator()(void* m) const noexcept { XGDMatrixFree(m); }
};
struct booster_deleter
{
    void operator()(void* b) const noexcept { XGBoosterFree(b); }
};
using dmatrix_ptr = std::unique_ptr<void, dmatrix_deleter>;
using booster_ptr = std::unique_ptr<void, booster_deleter>;

result<dmatrix_ptr> make_dmatrix(const table& data)
{
    DMatrixHandle m = nullptr;
    if (XGDMatrixCreateFromMat(data.values.data(), data.rows, data.columns, NAN, &m) != 0) {
        return fail(last_error("XGDMatrixCreateFromMat"));
    }
    dmatrix_ptr p(m);
    if (!data.labels.empty() &&
        XGDMatrixSetFloatInfo(m, "label", data.labels.data(), data.labels.size()) != 0) {
        return fail(last_error("XGDMatrixSetFloatInfo"));
    }
    return p;
}

std::vector<const char*> c_strings(const std::vector<std::string>& v)
{
    std::vector<const char*> out;
    for (const auto& s : v) {
        out.push_back(s.c_str());
    }
    return out;
}

result<void> set_params(BoosterHandle b, bool categorical)
{
    const char* params[][2] = {{"objective", "binary:logistic"},
                               {"max_depth", "3"},
                               {"eta", "0.5"},
                               {"nthread", "1"},
                               {"seed", "7"},
                               {"tree_method", categorical ? "hist" : "exact"}};
    for (const auto& p : params) {
        if (XGBoosterSetParam(b, p[0], p[1]) != 0) {
            return fail(last_error("XGBoosterSetParam"));
        }
    }
    return {};
}

}  // namespace

result<void> train_and_save(const std::filesystem::path& file, const table& data,
                            const std::vector<std::string>& names,
                            const std::vector<std::string>& types, int rounds)
{
    auto m = make_dmatrix(data);
    if (!m) {
        return fail(m.error());
    }
    if (!types.empty()) {
        auto t = c_strings(types);
        if (XGDMatrixSetStrFeatureInfo(m->get(), "feature_type", t.data(), t.size()) != 0) {
            return fail(last_error("XGDMatrixSetStrFeatureInfo"));
        }
    }
    DMatrixHandle train[] = {m->get()};
    BoosterHandle raw = nullptr;
    if (XGBoosterCreate(train, 1, &raw) != 0) {
        return fail(last_error("XGBoosterCreate"));
    }
    booster_ptr b(raw);
    bool categorical = false;
    for (const auto& t : types) {
        categorical = categorical || t == "c";
    }
    if (auto r = set_params(raw, categorical); !r) {
        return r;
    }
    for (int i = 0; i < rounds; ++i) {
        if (XGBoosterUpdateOneIter(raw, i, m->get()) != 0) {
            return fail(last_error("XGBoosterUpdateOneIter"));
        }
    }
    if (!names.empty()) {
        auto n = c_strings(names);
        if (XGBoosterSetStrFeatureInfo(raw, "feature_name", n.data(), n.size()) != 0) {
            return fail(last_error("XGBoosterSetStrFeatureInfo"));
        }
    }
    if (XGBoosterSaveModel(raw, file.c_str()) != 0) {
        return fail(last_error("XGBoosterSaveModel"));
    }
    return {};
}

result<std::vector<float>> predict_margins_via_dmatrix(const std::filesystem::path& file,
                                                       const table& data)
{
    BoosterHandle raw = nullptr;
    if (XGBoosterCreate(nullptr, 0, &raw) != 0) {
        return fail(last_error("XGBoosterCreate"));
    }
    booster_ptr b(raw);
    if (XGBoosterLoadModel(raw, file.c_str()) != 0) {
        return fail(last_error("XGBoosterLoadModel"));
    }
    auto m = make_dmatrix(data);
    if (!m) {
        return fail(m.error());
    }
    const char* config = R"({"type": 1, "training": false, "iteration_begin": 0, )"
                         R"("iteration_end": 0, "strict_shape": false})";
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* out = nullptr;
    if (XGBoosterPredictFromDMatrix(raw, m->get(), config, &shape, &dims, &out) != 0) {
        return fail(last_error("XGBoosterPredictFromDMatrix"));
    }
    return std::vector<float>(out, out + data.rows);
}

}  // namespace adsx::xgb::testing
