#include "adsx/ranking/scorer.h"

#include <fmt/format.h>

namespace adsx::ranking {

result<void> check_shape(const batch& rows, std::span<const double> out,
                         std::size_t numeric_columns, std::size_t categorical_columns)
{
    if (rows.numeric_columns() != numeric_columns ||
        rows.categorical_columns() != categorical_columns) {
        return fail(error_code::invalid_argument,
                    fmt::format("the batch has {} numeric and {} categorical columns; the model "
                                "has {} and {}",
                                rows.numeric_columns(), rows.categorical_columns(), numeric_columns,
                                categorical_columns));
    }
    if (out.size() != rows.rows()) {
        return fail(error_code::invalid_argument,
                    fmt::format("{} outputs for {} rows", out.size(), rows.rows()));
    }
    return {};
}

}  // namespace adsx::ranking
