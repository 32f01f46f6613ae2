// ranking::forest against a reference walk written here from the trees themselves, for both of
// its kernels. (src/adsx/xgb's tests compare it with libxgboost on trained boosters.)
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "adsx/ranking/forest.h"

namespace adsx::ranking {
namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

// A tree as XGBoost saves it: node i's children, split column and threshold (a leaf's value
// when left == -1), and where NaN goes.
struct xgb_tree
{
    std::vector<int> left, right, column;
    std::vector<float> value;
    std::vector<int> default_left;
};

std::string booster_json(const std::vector<xgb_tree>& trees, float base_score = 0.25f)
{
    std::vector<std::string> parts;
    for (const auto& t : trees) {
        parts.push_back(fmt::format(
            R"({{"left_children": [{}], "right_children": [{}], "split_indices": [{}],
                "default_left": [{}], "split_type": [{}], "split_conditions": [{}]}})",
            fmt::join(t.left, ","), fmt::join(t.right, ","), fmt::join(t.column, ","),
            fmt::join(t.default_left, ","), fmt::join(std::vector<int>(t.left.size(), 0), ","),
            fmt::join(t.value, ",")));
    }
    return fmt::format(R"({{"learner": {{"objective": {{"name": "binary:logistic"}},
        "learner_model_param": {{"base_score": "{}"}},
        "gradient_booster": {{"name": "gbtree", "model": {{"trees": [{}]}}}}}}}})",
                       base_score, fmt::join(parts, ","));
}

// What XGBoost computes: base margin, then each tree's leaf added in float32, in order.
double reference(const std::vector<xgb_tree>& trees, float base_margin, const float* row)
{
    float sum = base_margin;
    for (const auto& t : trees) {
        std::size_t at = 0;
        while (t.left[at] != -1) {
            const float x = row[t.column[at]];
            const bool left = std::isnan(x) ? t.default_left[at] != 0 : x < t.value[at];
            at = static_cast<std::size_t>(left ? t.left[at] : t.right[at]);
        }
        sum += t.value[at];
    }
    return sum;
}

// A random tree on `columns` columns, its leftmost leaf at `max_depth`, others higher up too.
xgb_tree random_tree(std::mt19937& rng, int columns, int max_depth)
{
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    xgb_tree t;
    auto add = [&](auto& self, int depth, bool spine) -> int {
        const int at = static_cast<int>(t.left.size());
        t.left.push_back(-1);
        t.right.push_back(-1);
        t.column.push_back(0);
        t.value.push_back(u(rng));
        t.default_left.push_back(static_cast<int>(rng() % 2));
        if (depth < max_depth && (spine || rng() % 4 != 0)) {
            t.column[at] = static_cast<int>(rng() % static_cast<unsigned>(columns));
            const int l = self(self, depth + 1, spine);
            const int r = self(self, depth + 1, false);
            t.left[at] = l;
            t.right[at] = r;
        }
        return at;
    };
    add(add, 0, true);
    // XGBoost numbers children after parents, which the recursion above does.
    return t;
}

// Rows whose values sit on thresholds, next to them and NaN: both sides of every split.
std::vector<float> probe_matrix(const std::vector<xgb_tree>& trees, std::size_t rows,
                                std::size_t columns, std::mt19937& rng)
{
    std::vector<float> thresholds;
    for (const auto& t : trees) {
        for (std::size_t i = 0; i < t.left.size(); ++i) {
            if (t.left[i] != -1) {
                thresholds.push_back(t.value[i]);
            }
        }
    }
    std::vector<float> m(rows * columns);
    for (auto& x : m) {
        const float t = thresholds.empty() ? 0.0f : thresholds[rng() % thresholds.size()];
        switch (rng() % 4) {
            case 0:
                x = nan_f;
                break;
            case 1:
                x = t;
                break;
            case 2:
                x = std::nextafter(t, -1e9f);
                break;
            default:
                x = t + 0.01f;
                break;
        }
    }
    return m;
}

std::vector<forest::kernel> kernels_of(const forest& f)
{
    std::vector<forest::kernel> out{forest::kernel::walk};
    if (f.supports(forest::kernel::avx512)) {
        out.push_back(forest::kernel::avx512);
    }
    return out;
}

void expect_reference_margins(const std::vector<xgb_tree>& trees, std::size_t columns,
                              std::size_t rows, forest::kernel k, std::mt19937& rng)
{
    auto f = parse_forest(booster_json(trees), columns);
    ASSERT_TRUE(f) << f.error().message;
    ASSERT_TRUE(f->use(k));
    const auto m = probe_matrix(trees, rows, columns, rng);
    std::vector<double> out(rows, -99.0);
    f->margins(m, rows, columns, out);
    for (std::size_t r = 0; r < rows; ++r) {
        ASSERT_EQ(out[r], reference(trees, f->base_margin(), &m[r * columns]))
            << "row " << r << " of " << rows << ", kernel " << static_cast<int>(k);
    }
}

TEST(forest, both_kernels_equal_the_reference_walk_bit_for_bit)
{
    std::mt19937 rng(3);
    std::vector<xgb_tree> trees;
    for (int k = 0; k < 60; ++k) {
        trees.push_back(random_tree(rng, 9, 1 + k % 4));  // depths 1–4, leaves at every level
    }
    trees.push_back({{-1}, {-1}, {0}, {0.125f}, {0}});  // a tree that is a single leaf
    auto f = parse_forest(booster_json(trees), 9);
    ASSERT_TRUE(f) << f.error().message;
    for (auto k : kernels_of(*f)) {
        // Whole blocks of 16 rows and partial ones.
        for (std::size_t rows : {1u, 15u, 16u, 17u, 100u, 513u}) {
            expect_reference_margins(trees, 9, rows, k, rng);
        }
    }
}

TEST(forest, a_tree_deeper_than_four_is_walked)
{
    std::mt19937 rng(5);
    std::vector<xgb_tree> trees{random_tree(rng, 4, 3), random_tree(rng, 4, 7)};
    auto f = parse_forest(booster_json(trees), 4);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(f->active_kernel(), forest::kernel::walk);
    EXPECT_FALSE(f->supports(forest::kernel::avx512));
    EXPECT_FALSE(f->use(forest::kernel::avx512));
    expect_reference_margins(trees, 4, 200, forest::kernel::walk, rng);
}

TEST(forest, shallow_trees_use_avx512_where_the_cpu_has_it)
{
    std::mt19937 rng(9);
    std::vector<xgb_tree> trees{random_tree(rng, 30, 4), random_tree(rng, 30, 2)};
    auto f = parse_forest(booster_json(trees), 30);
    ASSERT_TRUE(f) << f.error().message;
    if (!f->supports(forest::kernel::avx512)) {
        EXPECT_EQ(f->active_kernel(), forest::kernel::walk);
        GTEST_SKIP() << "this CPU has no AVX-512F: only the walk kernel runs here";
    }
    EXPECT_EQ(f->active_kernel(), forest::kernel::avx512);
    // The kernel transposes exactly the columns the splits use, each once.
    std::set<std::uint32_t> split_columns;
    for (const auto& t : trees) {
        for (std::size_t i = 0; i < t.left.size(); ++i) {
            if (t.left[i] != -1) {
                split_columns.insert(static_cast<std::uint32_t>(t.column[i]));
            }
        }
    }
    auto used = f->packed_columns();
    EXPECT_EQ(std::set<std::uint32_t>(used.begin(), used.end()), split_columns);
    EXPECT_EQ(used.size(), split_columns.size());
}

TEST(forest, nan_follows_each_nodes_default_direction)
{
    // Root splits column 1 at 0.5 (NaN left); its right child splits column 0 at -2 (NaN right).
    const std::vector<xgb_tree> trees{{{1, -1, 3, -1, -1},
                                       {2, -1, 4, -1, -1},
                                       {1, 0, 0, 0, 0},
                                       {0.5f, 10, -2, 20, 30},
                                       {1, 0, 0, 0, 0}}};
    auto f = parse_forest(booster_json(trees, 0.5f), 2);  // base margin 0
    ASSERT_TRUE(f) << f.error().message;
    const std::vector<float> m = {0.0f, 0.4f, 0.0f,  0.5f, nan_f, nan_f,
                                  -3.f, 0.9f, nan_f, 0.9f, -2.0f, 0.9f};
    for (auto k : kernels_of(*f)) {
        ASSERT_TRUE(f->use(k));
        std::vector<double> out(6);
        f->margins(m, 6, 2, out);
        EXPECT_EQ(out, (std::vector<double>{10, 30, 10, 20, 30, 30})) << static_cast<int>(k);
    }
}

}  // namespace
}  // namespace adsx::ranking

namespace adsx::ranking {
namespace {

TEST(forest, a_split_type_array_shorter_than_the_nodes_is_refused)
{
    // Found by tests/fuzz (model_files): split_type was indexed per node without its length
    // checked, a read past its end on a malformed model file.
    const std::vector<xgb_tree> trees{
        {{1, -1, -1}, {2, -1, -1}, {0, 0, 0}, {0.5f, 1, 2}, {1, 0, 0}}};
    auto json = booster_json(trees);
    const std::string full = R"("split_type": [0,0,0])";
    json.replace(json.find(full), full.size(), R"("split_type": [0])");
    auto f = parse_forest(json, 1);
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message.find("node arrays differ in length"), std::string::npos)
        << f.error().message;
}

TEST(forest, a_number_its_array_type_cannot_hold_is_refused)
{
    // Found by tests/fuzz (model_files): 3.2e160 as a split index, converted to int64 (undefined
    // behaviour); a threshold beyond float's range the same.
    const std::vector<xgb_tree> trees{
        {{1, -1, -1}, {2, -1, -1}, {0, 0, 0}, {0.5f, 1, 2}, {1, 0, 0}}};
    for (const auto& [from, to] :
         {std::pair{R"("split_indices": [0,0,0])", R"("split_indices": [3.2e160,0,0])"},
          std::pair{R"("split_indices": [0,0,0])", R"("split_indices": [0.5,0,0])"},
          std::pair{R"("split_conditions": [0.5,1,2])", R"("split_conditions": [1e300,1,2])"}}) {
        auto json = booster_json(trees);
        json.replace(json.find(from), std::string_view(from).size(), to);
        auto f = parse_forest(json, 1);
        ASSERT_FALSE(f) << to;
        const auto& why = f.error().message;
        EXPECT_TRUE(why.find("must be an integer") != std::string::npos ||
                    why.find("does not fit a float") != std::string::npos)
            << why;
    }
}

}  // namespace
}  // namespace adsx::ranking
