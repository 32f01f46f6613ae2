// A real XGBoost model in the registry: trained here through the C API, loaded by the registry
// like one Python wrote, and scored against XGBoost's own DMatrix prediction on the coded rows,
// then through the downsampling correction and isotonic calibration by hand.
#include <cmath>
#include <random>

#include "fixture.h"
#include <gtest/gtest.h>

#include "adsx/models/files.h"
#include "adsx/models/registry.h"
#include "adsx/xgb/testing/train.h"

namespace adsx::models {
namespace {

using namespace testing;
namespace fs = std::filesystem;
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

xgb::testing::table training_data()
{
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    xgb::testing::table t{300, 2, {}, {}};
    for (std::size_t r = 0; r < t.rows; ++r) {
        const float x = u(rng) < 0.15f ? nan_f : u(rng);
        const float device = u(rng) < 0.1f ? nan_f : std::floor(2.0f * u(rng));
        t.values.insert(t.values.end(), {x, device});
        const bool click = (!std::isnan(x) && x > 0.6f) || device == 1.0f;
        t.labels.push_back(click != (u(rng) < 0.15f) ? 1.0f : 0.0f);
    }
    return t;
}

manifest_options xgboost_manifest(std::int64_t v)
{
    manifest_options o;
    o.version = v;
    o.family = "xgboost";
    o.artifact_file = "xgboost.json";
    o.artifact_format = "xgboost-json/1.7";
    o.negative_rate = 0.5;
    o.calibration = R"({"method": "isotonic", "x": [0, 0.5, 1], "y": [0.1, 0.3, 0.9]})";
    return o;
}

fs::path write_xgboost_version(const fs::path& root, std::int64_t v,
                               const std::vector<std::string>& names)
{
    const auto dir = root / "ctr" / std::to_string(v);
    fs::create_directories(dir);
    auto trained =
        xgb::testing::train_and_save(dir / "xgboost.json", training_data(), names, {"q", "c"});
    EXPECT_TRUE(trained) << trained.error().message;
    auto o = xgboost_manifest(v);
    o.sha256 = file_sha256(dir / "xgboost.json").value();
    write_file(dir / "model.json", manifest_json(o));
    return dir;
}

double by_hand(float margin)
{
    const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(margin)));
    const double q = p / (p + (1.0 - p) / 0.5);
    return q < 0.5 ? 0.1 + q * (0.2 / 0.5) : 0.3 + (q - 0.5) * (0.6 / 0.5);
}

TEST(xgboost_model, scores_like_xgboost_then_corrects_and_calibrates)
{
    temp_dir dir;
    write_xgboost_version(dir.path(), 1, {"x", "device"});
    auto m = registry(dir.path()).load("ctr", 1);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ((*m)->info().family, ranking::model_family::xgboost);

    // x as given (no transform, NaN missing); device coded by the vocab ["ios", "android"],
    // NaN when missing or unknown.
    const std::vector<std::pair<double, std::string_view>> rows = {
        {0.9, "ios"}, {0.1, "android"}, {0.0, "ios"},     {std::nan(""), "android"},
        {0.7, ""},    {0.3, "ctv"},     {0.65, "android"}};
    const std::vector<float> coded = {0.9f, 0.0f, 0.1f,  1.0f, 0.0f,  0.0f,  nan_f,
                                      1.0f, 0.7f, nan_f, 0.3f, nan_f, 0.65f, 1.0f};
    auto b = (*m)->make_batch();
    b.reset(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
        b.set_numeric(r, 0, rows[r].first);
        b.set_categorical(r, 0, rows[r].second);
    }
    std::vector<double> p(rows.size());
    ASSERT_TRUE((*m)->score(b, p));

    auto expected = xgb::testing::predict_margins_via_dmatrix(
        dir.path() / "ctr" / "1" / "xgboost.json", {rows.size(), 2, coded, {}});
    ASSERT_TRUE(expected) << expected.error().message;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        EXPECT_NEAR(p[r], by_hand((*expected)[r]), 1e-15) << "row " << r;
    }
}

TEST(xgboost_model, a_booster_whose_names_differ_is_refused)
{
    temp_dir dir;
    auto version = write_xgboost_version(dir.path(), 1, {"x", "geo"});
    auto m = registry(dir.path()).load("ctr", 1);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().message, (version / "xgboost.json").string() +
                                     ": the booster's feature names are [x, geo]; the "
                                     "manifest's are [x, device] (numeric, then categorical, in "
                                     "order)");
}

}  // namespace
}  // namespace adsx::models
