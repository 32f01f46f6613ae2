#pragma once
// An XGBoost 1.7 tree ensemble evaluated in-house: the trees of an xgboost.json artifact
// (docs/models.md) flattened into one array of 16-byte nodes, walked for blocks of rows at a
// time without branches on the data. It reproduces XGBoost's margins bit for bit: the same
// float32 comparisons (x < split goes left; a NaN takes the node's default direction) and the
// same float32 sum, base margin first, then the trees in order. src/adsx/xgb checks that
// against libxgboost on every model it loads.
//
//   auto f = adsx::ranking::parse_forest(json_text, /*features=*/31);
//   f->margins(matrix, rows, 31, out);     // matrix: rows × 31 float32, row-major
//
// Immutable after parsing; margins() may run on many threads at once and allocates nothing.
// Supported: gbtree boosters with numerical splits, one output (binary:logistic and other
// single-target objectives whose margin is the sum of leaves). Anything else is refused.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::ranking {

class forest
{
public:
    // margin[r] = base + Σ_trees leaf(tree, row r), summed in float32 in tree order.
    void margins(std::span<const float> matrix, std::size_t rows, std::size_t columns,
                 std::span<double> out) const noexcept;

    [[nodiscard]] std::size_t trees() const noexcept { return _trees.size(); }
    [[nodiscard]] std::size_t features() const noexcept { return _features; }
    [[nodiscard]] float base_margin() const noexcept { return _base_margin; }
    // Every split threshold of a feature (probe rows for the load-time check are built from
    // them, so that both sides of every split are exercised).
    [[nodiscard]] std::vector<float> thresholds(std::size_t feature) const;

    struct node
    {
        float value;                      // split threshold, or the leaf's value
        std::uint32_t column;             // feature index; a leaf's is 0
        std::uint32_t left;               // absolute node indices; a leaf points to itself
        std::uint32_t right_and_default;  // right child | 0x8000'0000 when NaN goes left
    };
    struct tree
    {
        std::uint32_t root;
        std::uint32_t depth;  // steps from the root to the deepest leaf
    };

private:
    friend result<forest> parse_forest(std::string_view, std::size_t);

    std::vector<node> _nodes;
    std::vector<tree> _trees;
    std::size_t _features = 0;
    float _base_margin = 0;
};

// Parses Booster.save_model's JSON. `features` is the row width the caller will pass; a split
// on a column outside it is refused.
[[nodiscard]] result<forest> parse_forest(std::string_view xgboost_json, std::size_t features);

}  // namespace adsx::ranking
