#pragma once
// The features a model scores, in the manifest's order (docs/models.md, "A row"): numeric
// features (with the transform the LR scorer applies), categorical features (with the vocabulary
// that gives the tree scorer its codes) and crosses of two categorical features (LR only).
// Parsed once when a model version loads; immutable afterwards.
//
//   auto spec = adsx::ranking::parse_feature_spec(R"({"numeric": [{"name": "age_s",
//       "transform": "log1p"}], "categorical": [{"name": "device", "vocab": ["ios"]}],
//       "crosses": []})");
//   spec->column_names();   // {"age_s", "device"}: the tree model's columns
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::ranking {

enum class transform
{
    none,   // x
    log1p,  // log1p(max(x, 0))
};

struct numeric_feature
{
    std::string name;
    transform how = transform::none;
};

struct categorical_feature
{
    std::string name;
    std::vector<std::string> vocab;  // distinct values; a value's code is its index here
};

// A cross of two categorical features, as indices into feature_spec::categorical.
struct cross_feature
{
    std::size_t first = 0;
    std::size_t second = 0;
};

struct feature_spec
{
    std::vector<numeric_feature> numeric;
    std::vector<categorical_feature> categorical;
    std::vector<cross_feature> crosses;

    // Numeric names, then categorical names: the columns of the tree model.
    [[nodiscard]] std::vector<std::string> column_names() const;
    [[nodiscard]] std::optional<std::size_t> numeric_index(std::string_view name) const;
    [[nodiscard]] std::optional<std::size_t> categorical_index(std::string_view name) const;
};

// Parses the manifest's "features" object (its JSON text). invalid_argument naming the member
// at fault: a missing or mistyped member, an unknown transform, a name given to two features,
// a value twice in one vocab, a cross that does not name two categorical features.
[[nodiscard]] result<feature_spec> parse_feature_spec(std::string_view features_json);

}  // namespace adsx::ranking
