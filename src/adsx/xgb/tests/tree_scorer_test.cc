// Proves the XGBoost tree scorer: margins equal XGBoost's own predictions exactly (vocabulary
// codes, NaN for missing or unknown values, zeros as values) with every engine, the native
// kernels on 1,000 random rows and the libxgboost fallback for categorical splits included;
// scoring is safe from two threads; feature names or counts unlike the manifest's, a missing and
// a corrupt file are refused; an empty batch scores nothing.
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "adsx/ranking/feature_spec.h"
#include "adsx/xgb/booster.h"
#include "adsx/xgb/testing/train.h"
#include "adsx/xgb/tree_scorer.h"

namespace adsx::xgb {
namespace {

namespace fs = std::filesystem;
constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr double nan_d = std::numeric_limits<double>::quiet_NaN();

// x0 in [0, 1), x1 in [0, 10) missing 1 time in 5, device code 0–2 missing 1 time in 10; the
// label depends on all three.
testing::table training_data(std::size_t rows)
{
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    testing::table t{rows, 3, {}, {}};
    for (std::size_t r = 0; r < rows; ++r) {
        const float x0 = u(rng);
        const float x1 = u(rng) < 0.2f ? nan_f : 10.0f * u(rng);
        const float device = u(rng) < 0.1f ? nan_f : std::floor(3.0f * u(rng));
        const bool click = (x0 > 0.5f) != (device == 1.0f) || (!std::isnan(x1) && x1 > 8.0f);
        t.values.insert(t.values.end(), {x0, x1, device});
        t.labels.push_back(click != (u(rng) < 0.1f) ? 1.0f : 0.0f);
    }
    return t;
}

ranking::feature_spec spec(std::string_view device_name = "device")
{
    auto s = ranking::parse_feature_spec(
        std::string(R"({"numeric": [{"name": "x0", "transform": "none"},
                                    {"name": "x1", "transform": "log1p"}],
                        "categorical": [{"name": ")") +
        std::string(device_name) +
        R"(", "vocab": ["ios", "android", "desktop"]}], "crosses": []})");
    EXPECT_TRUE(s) << s.error().message;
    return *s;
}

std::string text_of(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

result<std::unique_ptr<const ranking::scorer>> load(const fs::path& file,
                                                    const ranking::feature_spec& s,
                                                    tree_engine engine = tree_engine::native)
{
    return load_tree_scorer(file, text_of(file), s, engine);
}

class tree_scorer_test : public ::testing::Test
{
protected:
    void SetUp() override
    {
        _dir =
            fs::temp_directory_path() /
            ("adsx_xgb_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(_dir);
        // Vocabulary codes as numbers, as adsx_ml trains (docs/models.md).
        auto r = testing::train_and_save(file(), training_data(400), {"x0", "x1", "device"},
                                         {"q", "q", "q"});
        ASSERT_TRUE(r) << r.error().message;
    }
    void TearDown() override { fs::remove_all(_dir); }
    fs::path file() const { return _dir / "xgboost.json"; }

    fs::path _dir;
};

// Rows as the scorer gets them, and the float32 rows XGBoost should see for them.
struct case_rows
{
    ranking::batch batch{2, 1};
    testing::table expected{0, 3, {}, {}};
};

case_rows cases()
{
    struct row
    {
        double x0, x1;
        std::string_view device;
        float code;
    };
    const std::vector<row> rows = {
        {0.7, 3.0, "ios", 0.0f},
        {0.2, 9.5, "android", 1.0f},
        {0.9, nan_d, "desktop", 2.0f},
        {0.1, 1.0, "", nan_f},
        {0.6, 2.0, "ctv", nan_f},
        {nan_d, nan_d, "android", 1.0f},
        {0.55, -4.0, "android", 1.0f},
        {0.3, 8.5, "ios", 0.0f},
        // Zeros are values, not missing: XGBoost must be told missing = NaN only.
        {0.0, 0.0, "ios", 0.0f},
        {0.0, 9.0, "ios", 0.0f},
        {0.8, 0.0, "android", 1.0f},
        {0.7, 0.0, "desktop", 2.0f},
        {0.0, 2.0, "android", 1.0f}};
    case_rows c;
    c.batch.reset(rows.size());
    c.expected.rows = rows.size();
    for (std::size_t r = 0; r < rows.size(); ++r) {
        c.batch.set_numeric(r, 0, rows[r].x0);
        c.batch.set_numeric(r, 1, rows[r].x1);
        c.batch.set_categorical(r, 0, rows[r].device);
        c.expected.values.insert(
            c.expected.values.end(),
            {static_cast<float>(rows[r].x0), static_cast<float>(rows[r].x1), rows[r].code});
    }
    return c;
}

TEST_F(tree_scorer_test, margins_equal_xgboost_on_coded_rows_with_either_engine)
{
    for (auto engine : {tree_engine::native, tree_engine::libxgboost}) {
        auto s = load(file(), spec(), engine);
        ASSERT_TRUE(s) << s.error().message;
        auto c = cases();
        std::vector<double> out(c.batch.rows());
        auto r = (*s)->margins(c.batch, out);
        ASSERT_TRUE(r) << r.error().message;
        auto expected = testing::predict_margins_via_dmatrix(file(), c.expected);
        ASSERT_TRUE(expected) << expected.error().message;
        for (std::size_t i = 0; i < out.size(); ++i) {
            EXPECT_EQ(out[i], static_cast<double>((*expected)[i])) << "row " << i;
        }
        // The model learnt something: not every margin is the same.
        EXPECT_NE(out[0], out[1]);
    }
}

TEST_F(tree_scorer_test, the_native_engine_equals_xgboost_on_many_random_rows)
{
    // Both of the in-house kernels: the fastest this CPU has (native) and the portable walk.
    auto native = load(file(), spec(), tree_engine::native);
    ASSERT_TRUE(native) << native.error().message;
    auto walk = load(file(), spec(), tree_engine::native_walk);
    ASSERT_TRUE(walk) << walk.error().message;
    EXPECT_EQ((*walk)->engine(), "native/walk");
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1.0, 11.0);
    const std::array<std::string_view, 5> devices = {"ios", "android", "desktop", "", "ctv"};
    ranking::batch b(2, 1);
    testing::table expected{1000, 3, {}, {}};
    b.reset(1000);
    for (std::size_t r = 0; r < 1000; ++r) {
        const double x0 = u(rng) / 10, x1 = u(rng) < 1.0 ? nan_d : u(rng);
        const auto d = static_cast<std::size_t>(rng() % devices.size());
        b.set_numeric(r, 0, x0);
        b.set_numeric(r, 1, x1);
        b.set_categorical(r, 0, devices[d]);
        expected.values.insert(expected.values.end(),
                               {static_cast<float>(x0), static_cast<float>(x1),
                                d < 3 ? static_cast<float>(d) : nan_f});
    }
    // And a booster with XGBoost's own categorical splits, which the native engine leaves to
    // libxgboost: it loads and scores the same.
    auto categorical = _dir / "categorical.json";
    ASSERT_TRUE(testing::train_and_save(categorical, training_data(400), {"x0", "x1", "device"},
                                        {"q", "q", "c"}));
    auto fallback = load(categorical, spec(), tree_engine::native);
    ASSERT_TRUE(fallback) << fallback.error().message;
    EXPECT_EQ((*fallback)->engine(), "libxgboost");
    for (const auto& [file, scorer] :
         {std::pair{file(), &*native}, {file(), &*walk}, {categorical, &*fallback}}) {
        std::vector<double> out(1000);
        ASSERT_TRUE((*scorer)->margins(b, out));
        auto theirs = testing::predict_margins_via_dmatrix(file, expected);
        ASSERT_TRUE(theirs) << theirs.error().message;
        for (std::size_t i = 0; i < out.size(); ++i) {
            ASSERT_EQ(out[i], static_cast<double>((*theirs)[i])) << file << " row " << i;
        }
    }
}

TEST_F(tree_scorer_test, concurrent_scoring_gives_the_same_margins)
{
    auto s = load(file(), spec());
    ASSERT_TRUE(s);
    auto c = cases();
    std::vector<double> reference(c.batch.rows());
    ASSERT_TRUE((*s)->margins(c.batch, reference));
    auto work = [&](std::vector<double>& mismatches) {
        std::vector<double> out(c.batch.rows());
        for (int k = 0; k < 200; ++k) {
            if (!(*s)->margins(c.batch, out) || out != reference) {
                mismatches.push_back(k);
            }
        }
    };
    std::vector<double> m1, m2;
    std::thread t1(work, std::ref(m1));
    std::thread t2(work, std::ref(m2));
    t1.join();
    t2.join();
    EXPECT_TRUE(m1.empty());
    EXPECT_TRUE(m2.empty());
}

TEST_F(tree_scorer_test, refuses_a_booster_whose_features_differ)
{
    auto wrong_name = load(file(), spec("geo"));
    ASSERT_FALSE(wrong_name);
    EXPECT_EQ(wrong_name.error().code, error_code::invalid_argument);
    EXPECT_EQ(wrong_name.error().message,
              "the booster's feature names are [x0, x1, device]; the manifest's are [x0, x1, geo] "
              "(numeric, then categorical, in order)");

    auto fewer = ranking::parse_feature_spec(
        R"({"numeric": [{"name": "x0", "transform": "none"}], "categorical": [], "crosses": []})");
    auto count = load(file(), *fewer);
    ASSERT_FALSE(count);
    EXPECT_EQ(count.error().message, "the booster has 3 features; the manifest has 1 (x0)");

    auto unnamed = _dir / "unnamed.json";
    ASSERT_TRUE(testing::train_and_save(unnamed, training_data(100), {}, {}, 2));
    auto no_names = load(unnamed, spec());
    ASSERT_FALSE(no_names);
    EXPECT_NE(no_names.error().message.find("feature names are []"), std::string::npos);
}

TEST_F(tree_scorer_test, a_corrupt_or_missing_file_is_an_error_value)
{
    auto missing = load(_dir / "nope.json", spec());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, error_code::not_found);
    {
        std::ofstream(_dir / "bad.json") << "{\"learner\": ";
    }
    auto bad = load(_dir / "bad.json", spec());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, error_code::internal);
    EXPECT_EQ(bad.error().message.rfind("XGBoost cannot load the model: ", 0), 0u)
        << bad.error().message;
}

TEST_F(tree_scorer_test, an_empty_batch_scores_nothing)
{
    auto s = load(file(), spec());
    ASSERT_TRUE(s);
    ranking::batch b(2, 1);
    b.reset(0);
    EXPECT_TRUE((*s)->margins(b, {}));
}

}  // namespace
}  // namespace adsx::xgb
