#include "adsx/xgb/tree_scorer.h"

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "adsx/ranking/forest.h"
#include "adsx/xgb/booster.h"

namespace adsx::xgb {

namespace {

constexpr float missing = std::numeric_limits<float>::quiet_NaN();

// string -> code with lookups by string_view (no key built per row).
struct text_hash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept
    {
        return std::hash<std::string_view>{}(s);
    }
};
using vocab_codes = std::unordered_map<std::string, float, text_hash, std::equal_to<>>;

vocab_codes codes_of(const ranking::categorical_feature& f)
{
    vocab_codes codes;
    codes.reserve(f.vocab.size());
    for (std::size_t k = 0; k < f.vocab.size(); ++k) {
        codes.emplace(f.vocab[k], static_cast<float>(k));
    }
    return codes;
}

// The scorer's input: [numeric values as float, vocabulary codes] per row, row-major, in a
// thread-local buffer that grows to the largest batch a thread has scored.
class row_matrix
{
public:
    explicit row_matrix(const ranking::feature_spec& spec) : _numeric_columns(spec.numeric.size())
    {
        for (const auto& f : spec.categorical) {
            _codes.push_back(codes_of(f));
        }
    }

    [[nodiscard]] std::size_t columns() const noexcept { return _numeric_columns + _codes.size(); }
    [[nodiscard]] result<void> check(const ranking::batch& rows, std::span<const double> out) const
    {
        return ranking::check_shape(rows, out, _numeric_columns, _codes.size());
    }

    [[nodiscard]] std::span<const float> fill(const ranking::batch& rows) const
    {
        const std::size_t width = columns();
        thread_local std::vector<float> matrix;
        matrix.resize(rows.rows() * width);
        for (std::size_t i = 0; i < _numeric_columns; ++i) {
            auto column = rows.numeric_column(i);
            for (std::size_t r = 0; r < column.size(); ++r) {
                matrix[r * width + i] = static_cast<float>(column[r]);  // NaN stays NaN
            }
        }
        for (std::size_t j = 0; j < _codes.size(); ++j) {
            auto column = rows.categorical_column(j);
            for (std::size_t r = 0; r < column.size(); ++r) {
                auto it = _codes[j].find(column[r]);
                matrix[r * width + _numeric_columns + j] =
                    it == _codes[j].end() ? missing : it->second;
            }
        }
        return matrix;
    }

private:
    std::size_t _numeric_columns;
    std::vector<vocab_codes> _codes;  // per categorical feature
};

class booster_scorer final : public ranking::scorer
{
public:
    booster_scorer(booster b, const ranking::feature_spec& spec)
      : _booster(std::move(b)), _matrix(spec)
    {
    }

    [[nodiscard]] result<void> margins(const ranking::batch& rows,
                                       std::span<double> out) const override
    {
        if (auto r = _matrix.check(rows, out); !r) {
            return r;
        }
        return _booster.predict_margins(_matrix.fill(rows), rows.rows(), _matrix.columns(), out);
    }
    [[nodiscard]] std::string_view engine() const noexcept override { return "libxgboost"; }

private:
    booster _booster;
    row_matrix _matrix;
};

class forest_scorer final : public ranking::scorer
{
public:
    forest_scorer(ranking::forest f, const ranking::feature_spec& spec)
      : _forest(std::move(f)), _matrix(spec)
    {
    }

    [[nodiscard]] result<void> margins(const ranking::batch& rows,
                                       std::span<double> out) const override
    {
        if (auto r = _matrix.check(rows, out); !r) {
            return r;
        }
        _forest.margins(_matrix.fill(rows), rows.rows(), _matrix.columns(), out);
        return {};
    }
    [[nodiscard]] std::string_view engine() const noexcept override
    {
        return _forest.active_kernel() == ranking::forest::kernel::avx512 ? "native/avx512"
                                                                          : "native/walk";
    }

private:
    ranking::forest _forest;
    row_matrix _matrix;
};

// Rows that take both sides of every split: for each feature, its thresholds, the floats just
// below them, and NaN, spread over the rows in different combinations.
std::vector<float> probe_rows(const ranking::forest& f, std::size_t rows)
{
    const std::size_t width = f.features();
    std::vector<float> m(rows * width, missing);
    for (std::size_t c = 0; c < width; ++c) {
        std::vector<float> values{missing};
        for (float t : f.thresholds(c)) {
            values.push_back(t);
            values.push_back(std::nextafter(t, -std::numeric_limits<float>::infinity()));
        }
        for (std::size_t r = 0; r < rows; ++r) {
            m[r * width + c] = values[(r * 7919 + c * 104729) % values.size()];
        }
    }
    return m;
}

result<void> check_same_margins(const ranking::forest& f, const booster& b)
{
    constexpr std::size_t rows = 512;
    const auto m = probe_rows(f, rows);
    std::vector<double> ours(rows), theirs(rows);
    f.margins(m, rows, f.features(), ours);
    if (auto r = b.predict_margins(m, rows, f.features(), theirs); !r) {
        return r;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        if (ours[r] != theirs[r]) {
            return fail(error_code::internal,
                        fmt::format("the in-house tree evaluator gives {} where libxgboost gives "
                                    "{} (probe row {}); load with the libxgboost engine",
                                    ours[r], theirs[r], r));
        }
    }
    return {};
}

result<void> check_features(const booster& b, const ranking::feature_spec& spec)
{
    const auto expected = spec.column_names();
    auto n = b.num_features();
    auto names = n ? b.feature_names() : fail(n.error());
    if (!names) {
        return fail(names.error());
    }
    if (*n != expected.size()) {
        return fail(error_code::invalid_argument,
                    fmt::format("the booster has {} features; the manifest has {} ({})", *n,
                                expected.size(), fmt::join(expected, ", ")));
    }
    if (*names != expected) {
        return fail(error_code::invalid_argument,
                    fmt::format("the booster's feature names are [{}]; the manifest's are [{}] "
                                "(numeric, then categorical, in order)",
                                fmt::join(*names, ", "), fmt::join(expected, ", ")));
    }
    return {};
}

}  // namespace

result<std::unique_ptr<const ranking::scorer>> load_tree_scorer(
    const std::filesystem::path& json_file, std::string_view json_text,
    const ranking::feature_spec& spec, tree_engine engine)
{
    auto b = booster::load(json_file);
    if (!b) {
        return fail(b.error());
    }
    if (auto r = check_features(*b, spec); !r) {
        return fail(r.error());
    }
    if (engine == tree_engine::libxgboost) {
        return std::make_unique<const booster_scorer>(std::move(*b), spec);
    }
    auto f = ranking::parse_forest(json_text, spec.numeric.size() + spec.categorical.size());
    if (!f) {  // a model the evaluator does not cover (categorical splits): XGBoost walks it
        return std::make_unique<const booster_scorer>(std::move(*b), spec);
    }
    if (engine == tree_engine::native_walk) {
        f->use(ranking::forest::kernel::walk);
    }
    if (auto r = check_same_margins(*f, *b); !r) {
        return fail(r.error());
    }
    return std::make_unique<const forest_scorer>(std::move(*f), spec);
}

}  // namespace adsx::xgb
