#include "adsx/xgb/tree_scorer.h"

#include <limits>
#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

class tree_scorer final : public ranking::scorer
{
public:
    tree_scorer(booster b, const ranking::feature_spec& spec)
      : _booster(std::move(b)), _numeric_columns(spec.numeric.size())
    {
        for (const auto& f : spec.categorical) {
            _codes.push_back(codes_of(f));
        }
    }

    [[nodiscard]] result<void> margins(const ranking::batch& rows,
                                       std::span<double> out) const override
    {
        if (auto r = ranking::check_shape(rows, out, _numeric_columns, _codes.size()); !r) {
            return r;
        }
        const std::size_t columns = _numeric_columns + _codes.size();
        // Grows to the largest batch this thread has scored; never shrinks.
        thread_local std::vector<float> matrix;
        matrix.resize(rows.rows() * columns);
        for (std::size_t i = 0; i < _numeric_columns; ++i) {
            auto column = rows.numeric_column(i);
            for (std::size_t r = 0; r < column.size(); ++r) {
                matrix[r * columns + i] = static_cast<float>(column[r]);  // NaN stays NaN
            }
        }
        for (std::size_t j = 0; j < _codes.size(); ++j) {
            auto column = rows.categorical_column(j);
            for (std::size_t r = 0; r < column.size(); ++r) {
                auto it = _codes[j].find(column[r]);
                matrix[r * columns + _numeric_columns + j] =
                    it == _codes[j].end() ? missing : it->second;
            }
        }
        return _booster.predict_margins(matrix, rows.rows(), columns, out);
    }

private:
    booster _booster;
    std::size_t _numeric_columns;
    std::vector<vocab_codes> _codes;  // per categorical feature
};

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
    const std::filesystem::path& json_file, const ranking::feature_spec& spec)
{
    auto b = booster::load(json_file);
    if (!b) {
        return fail(b.error());
    }
    if (auto r = check_features(*b, spec); !r) {
        return fail(r.error());
    }
    return std::make_unique<const tree_scorer>(std::move(*b), spec);
}

}  // namespace adsx::xgb
