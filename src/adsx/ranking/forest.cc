#include "adsx/ranking/forest.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include <fmt/format.h>

#include "adsx/ranking/forest_avx512.h"
#include "adsx/ranking/json_read.h"

namespace adsx::ranking {

namespace {

constexpr std::uint32_t default_left_bit = forest::default_left_bit;
constexpr std::size_t block = 16;  // rows walked together: their loads overlap

// The base margin as XGBoost 1.7 computes it from base_score (float32 arithmetic).
result<float> base_margin(std::string_view objective, float base_score)
{
    if (objective == "binary:logistic" || objective == "reg:logistic") {
        if (!(base_score > 0.0f && base_score < 1.0f)) {
            return fail(error_code::invalid_argument,
                        fmt::format("base_score {} outside (0, 1)", base_score));
        }
        return -std::log(1.0f / base_score - 1.0f);
    }
    if (objective == "reg:squarederror") {
        return base_score;
    }
    return fail(error_code::invalid_argument,
                fmt::format("objective {} is not supported by the in-house evaluator", objective));
}

template <class T>
result<std::vector<T>> numbers(const json::value& tree, std::string_view key)
{
    auto v = json::member(tree, key);
    auto items = v ? json::elements(*v) : fail(v.error());
    if (!items) {
        return fail(items.error());
    }
    std::vector<T> out;
    out.reserve(items->size());
    for (const auto& item : *items) {
        if constexpr (std::is_same_v<T, std::int64_t>) {
            auto x = json::as_integer(item);  // whole and exact, or refused
            if (!x) {
                return fail(x.error());
            }
            out.push_back(*x);
        } else {
            static_assert(std::is_same_v<T, float>);
            auto x = json::as_number(item);
            if (!x) {
                return fail(x.error());
            }
            // A double beyond float's range does not convert (undefined behaviour: tests/fuzz).
            if (!(std::fabs(*x) <= std::numeric_limits<float>::max())) {
                return json::invalid(item, fmt::format("{}: {} does not fit a float", key, *x));
            }
            out.push_back(static_cast<float>(*x));
        }
    }
    return out;
}

struct tree_arrays
{
    std::vector<std::int64_t> left, right, column, default_left, split_type;
    std::vector<float> value;
};

result<tree_arrays> read_tree(const json::value& tree)
{
    tree_arrays t;
    auto left = numbers<std::int64_t>(tree, "left_children");
    auto right = numbers<std::int64_t>(tree, "right_children");
    auto column = numbers<std::int64_t>(tree, "split_indices");
    auto dleft = numbers<std::int64_t>(tree, "default_left");
    auto type = numbers<std::int64_t>(tree, "split_type");
    auto value = numbers<float>(tree, "split_conditions");
    for (auto* r : {&left, &right, &column, &dleft, &type}) {
        if (!*r) {
            return fail(r->error());
        }
    }
    if (!value) {
        return fail(value.error());
    }
    t = {std::move(*left),  std::move(*right), std::move(*column),
         std::move(*dleft), std::move(*type),  std::move(*value)};
    const auto n = t.left.size();
    // split_type may be absent (older XGBoost); when present it has a value per node too.
    const auto types = t.split_type.empty() ? n : t.split_type.size();
    for (auto size :
         {t.right.size(), t.column.size(), t.default_left.size(), t.value.size(), types}) {
        if (size != n || n == 0) {
            return json::invalid(tree, "node arrays differ in length or are empty");
        }
    }
    return t;
}

// Appends one tree's nodes; returns its depth.
result<std::uint32_t> append_tree(const tree_arrays& t, std::size_t features,
                                  std::vector<forest::node>& nodes, const json::value& where)
{
    const auto base = static_cast<std::uint32_t>(nodes.size());
    const auto n = static_cast<std::int64_t>(t.left.size());
    std::vector<std::uint32_t> depth(t.left.size(), 0);
    std::uint32_t deepest = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (t.left[k] == -1) {  // a leaf: its value sits in split_conditions
            nodes.push_back({t.value[k], 0, base + static_cast<std::uint32_t>(i),
                             base + static_cast<std::uint32_t>(i)});
            continue;
        }
        const bool children_ok = t.left[k] > i && t.left[k] < n && t.right[k] > i &&
                                 t.right[k] < n;  // XGBoost numbers children after parents
        if (!children_ok || t.column[k] < 0 || static_cast<std::size_t>(t.column[k]) >= features ||
            (!t.split_type.empty() && t.split_type[k] != 0)) {
            return json::invalid(
                where, fmt::format("node {}: a split the in-house evaluator does not support", i));
        }
        depth[static_cast<std::size_t>(t.left[k])] = depth[k] + 1;
        depth[static_cast<std::size_t>(t.right[k])] = depth[k] + 1;
        deepest = std::max(deepest, depth[k] + 1);
        nodes.push_back({t.value[k], static_cast<std::uint32_t>(t.column[k]),
                         base + static_cast<std::uint32_t>(t.left[k]),
                         (base + static_cast<std::uint32_t>(t.right[k])) |
                             (t.default_left[k] != 0 ? default_left_bit : 0u)});
    }
    return deepest;
}

}  // namespace

result<forest> parse_forest(std::string_view xgboost_json, std::size_t features)
{
    simdjson::dom::parser parser;
    auto doc = json::parse(parser, xgboost_json);
    auto learner = doc ? json::member(*doc, "learner") : fail(doc.error());
    auto objective = learner ? json::member(*learner, "objective") : fail(learner.error());
    auto objective_name = objective ? json::string_at(*objective, "name") : fail(objective.error());
    auto param = learner ? json::member(*learner, "learner_model_param") : fail(learner.error());
    auto base_score = param ? json::string_at(*param, "base_score") : fail(param.error());
    auto booster = learner ? json::member(*learner, "gradient_booster") : fail(learner.error());
    auto kind = booster ? json::string_at(*booster, "name") : fail(booster.error());
    for (const auto* r : {&objective_name, &base_score, &kind}) {
        if (!*r) {
            return fail(r->error());
        }
    }
    if (*kind != "gbtree") {
        return fail(error_code::invalid_argument, fmt::format("booster {} is not gbtree", *kind));
    }
    const std::string score_text(*base_score);
    auto margin = base_margin(*objective_name, std::strtof(score_text.c_str(), nullptr));
    auto model = json::member(*booster, "model");
    auto trees = model ? json::member(*model, "trees") : fail(model.error());
    auto list = trees ? json::elements(*trees) : fail(trees.error());
    if (!margin || !list) {
        return fail(!margin ? margin.error() : list.error());
    }
    forest f;
    f._features = features;
    f._base_margin = *margin;
    for (const auto& tree : *list) {
        auto arrays = read_tree(tree);
        auto root = static_cast<std::uint32_t>(f._nodes.size());
        auto depth = arrays ? append_tree(*arrays, features, f._nodes, tree) : fail(arrays.error());
        if (!depth) {
            return fail(depth.error());
        }
        f._trees.push_back({root, *depth});
    }
    f.pack();
    f._kernel = f.supports(forest::kernel::avx512) ? forest::kernel::avx512 : forest::kernel::walk;
    return f;
}

void forest::pack()
{
    _packed.clear();
    _packed_columns.clear();
    const bool shallow = std::all_of(_trees.begin(), _trees.end(),
                                     [](const tree& t) { return t.depth <= packed_depth; });
    if (!shallow || _features == 0) {
        return;
    }
    std::vector<std::int64_t> position(_features, -1);  // matrix column -> packed column
    auto packed_column = [&](std::uint32_t column) {
        if (position[column] < 0) {
            position[column] = static_cast<std::int64_t>(_packed_columns.size());
            _packed_columns.push_back(column);
        }
        return static_cast<std::uint32_t>(position[column]);
    };
    _packed.reserve(_trees.size());
    for (const auto& t : _trees) {
        packed_tree& p = _packed.emplace_back();
        p.threshold.fill(std::numeric_limits<float>::quiet_NaN());
        p.column.fill(0);
        p.leaf.fill(0.0f);
        // Node `at` of the tree goes to `slot` (breadth first) of the complete tree.
        auto place = [&](auto& self, std::uint32_t at, std::size_t slot, std::size_t level) {
            const node& nd = _nodes[at];
            const std::uint32_t right = nd.right_and_default & ~default_left_bit;
            if (level == packed_depth) {
                p.leaf[slot - (p.leaf.size() - 1)] = nd.value;  // a leaf: depth ≤ packed_depth
                return;
            }
            if (nd.left == at) {  // a leaf higher up: a split every value passes on the right
                self(self, at, 2 * slot + 1, level + 1);
                self(self, at, 2 * slot + 2, level + 1);
                return;
            }
            p.threshold[slot] = nd.value;
            p.column[slot] = packed_column(nd.column) | (nd.right_and_default & default_left_bit);
            self(self, nd.left, 2 * slot + 1, level + 1);
            self(self, right, 2 * slot + 2, level + 1);
        };
        place(place, t.root, 0, 0);
    }
    if (_packed_columns.empty()) {  // only leaves: the padding's column 0 must still exist
        _packed_columns.push_back(0);
    }
    if (_packed_columns.size() > max_packed_columns) {
        _packed.clear();
        _packed_columns.clear();
    }
}

bool forest::supports(kernel k) const noexcept
{
    static const bool avx512 = detail::avx512_available();
    return k == kernel::walk || (!_packed.empty() && avx512);
}

bool forest::use(kernel k) noexcept
{
    if (!supports(k)) {
        return false;
    }
    _kernel = k;
    return true;
}

void forest::margins(std::span<const float> matrix, std::size_t rows, std::size_t columns,
                     std::span<double> out) const noexcept
{
    if (_kernel == kernel::avx512) {
        detail::avx512_margins(_packed, _packed_columns, _base_margin, matrix.data(), rows, columns,
                               out.data());
        return;
    }
    const node* nodes = _nodes.data();
    for (std::size_t first = 0; first < rows; first += block) {
        const std::size_t n = std::min(block, rows - first);
        std::array<float, block> sum;
        sum.fill(_base_margin);
        std::array<const float*, block> row{};
        for (std::size_t r = 0; r < n; ++r) {
            row[r] = matrix.data() + (first + r) * columns;
        }
        for (const auto& t : _trees) {
            std::array<std::uint32_t, block> at;
            at.fill(t.root);
            for (std::uint32_t step = 0; step < t.depth; ++step) {
                for (std::size_t r = 0; r < n; ++r) {
                    // Branch-free: splits go either way at random, so branches would mispredict
                    // about half the time (measured 2× slower).
                    const node& nd = nodes[at[r]];
                    const float x = row[r][nd.column];
                    const std::uint32_t right = nd.right_and_default & ~default_left_bit;
                    const std::uint32_t nan_left = nd.right_and_default >> 31;
                    const auto go_left = static_cast<std::uint32_t>(x < nd.value) |
                                         (static_cast<std::uint32_t>(x != x) & nan_left);
                    at[r] = right + (nd.left - right) * go_left;
                }
            }
            for (std::size_t r = 0; r < n; ++r) {
                sum[r] += nodes[at[r]].value;
            }
        }
        for (std::size_t r = 0; r < n; ++r) {
            out[first + r] = static_cast<double>(sum[r]);
        }
    }
}

std::vector<float> forest::thresholds(std::size_t feature) const
{
    std::vector<float> out;
    for (const auto& nd : _nodes) {
        const bool leaf =
            nd.left == (nd.right_and_default & ~default_left_bit) && &nd == &_nodes[nd.left];
        if (!leaf && nd.column == feature) {
            out.push_back(nd.value);
        }
    }
    return out;
}

}  // namespace adsx::ranking
