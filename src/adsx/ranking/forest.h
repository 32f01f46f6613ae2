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
// Two kernels compute the same margins (active_kernel() says which one margins() uses):
// - walk: any depth, any CPU. Each row steps from node to node, 16 rows interleaved so their
//   loads overlap, without branches on the data.
// - avx512: trees of depth ≤ 4 on x86-64 CPUs with AVX-512F, chosen whenever both hold.
//   16 rows sit in the lanes of one register. Each tree is padded to a complete tree of
//   depth 4, so a node's threshold, column and leaf come from in-register permutes. The
//   rows' values are the block's columns (transposed once per block), blended by the path
//   taken so far instead of gathered. On 500 rows × 300 trees: margins 9× faster than
//   walk's; whole batches, raw rows to probabilities, 5–6× (bench/scoring.py).
//
// Immutable after parsing (use() aside); margins() may run on many threads at once and
// allocates nothing. Supported: gbtree boosters with numerical splits, one output
// (binary:logistic and other single-target objectives whose margin is the sum of leaves).
// Anything else is refused.
#include <array>
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

    enum class kernel
    {
        walk,
        avx512,
    };
    [[nodiscard]] kernel active_kernel() const noexcept { return _kernel; }
    // Whether `k` can score this forest on this CPU.
    [[nodiscard]] bool supports(kernel k) const noexcept;
    // Makes margins() use `k` (tests and benchmarks compare the kernels); false, and nothing
    // changes, when it does not support `k`. Not to be called while margins() runs.
    bool use(kernel k) noexcept;

    struct node
    {
        float value;                      // split threshold, or the leaf's value
        std::uint32_t column;             // feature index; a leaf's is 0
        std::uint32_t left;               // absolute node indices; a leaf points to itself
        std::uint32_t right_and_default;  // right child | default_left_bit when NaN goes left
    };
    // Set where a node's NaN goes left: in node::right_and_default and packed_tree::column.
    static constexpr std::uint32_t default_left_bit = 0x8000'0000u;
    struct tree
    {
        std::uint32_t root;
        std::uint32_t depth;  // steps from the root to the deepest leaf
    };
    // A tree padded to the complete tree of depth 4 (the avx512 kernel's layout). A leaf
    // higher up becomes splits on NaN (every value goes right) over copies of itself.
    struct alignas(64) packed_tree
    {
        std::array<float, 16> threshold;       // nodes 0–14 breadth first; [15] unused
        std::array<std::uint32_t, 16> column;  // index into packed_columns() | default_left_bit
        std::array<float, 16> leaf;            // the 16 leaves, left to right
    };
    static constexpr std::size_t packed_depth = 4;
    static constexpr std::size_t max_packed_columns = 256;
    // The matrix columns the splits use, in order; packed_tree::column indexes this list.
    [[nodiscard]] std::span<const std::uint32_t> packed_columns() const noexcept
    {
        return _packed_columns;
    }

private:
    friend result<forest> parse_forest(std::string_view, std::size_t);

    std::vector<node> _nodes;
    std::vector<tree> _trees;
    std::vector<packed_tree> _packed;  // empty when a tree is deeper than packed_depth
    std::vector<std::uint32_t> _packed_columns;
    std::size_t _features = 0;
    float _base_margin = 0;
    kernel _kernel = kernel::walk;

    void pack();
};

// Parses Booster.save_model's JSON. `features` is the row width the caller will pass; a split
// on a column outside it is refused.
[[nodiscard]] result<forest> parse_forest(std::string_view xgboost_json, std::size_t features);

}  // namespace adsx::ranking
