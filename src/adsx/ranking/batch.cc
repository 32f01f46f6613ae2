#include "adsx/ranking/batch.h"

namespace adsx::ranking {

void batch::reset(std::size_t rows)
{
    _rows = rows;
    // assign() reuses the capacity it has: no allocation once the batch has seen this many rows.
    _numeric.assign(rows * _numeric_columns, missing);
    _categorical.assign(rows * _categorical_columns, std::string_view());
}

}  // namespace adsx::ranking
