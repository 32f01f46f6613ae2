#pragma once
// Rows to score, read from JSON lines: one object per line mapping feature names to a number
// (numeric features), a string (categorical features) or null (missing). A feature absent from
// the object is missing; members that name no feature are ignored; blank lines are skipped.
// What `adsx model score|bench` read, and what the Python parity tests write.
//
//   {"ad_ctr_1h": 0.031, "device": "ios", "geo": null}
//
//   auto rows = adsx::ranking::row_set::parse_jsonl(text, model.features());
//   auto b = model.make_batch();
//   rows->fill(b, 0, 500);   // rows 0..499, cycling when there are fewer
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/ranking/batch.h"
#include "adsx/ranking/feature_spec.h"

namespace adsx::ranking {

class row_set
{
public:
    // invalid_argument naming the line (1-based) and the feature at fault: a line that is not
    // a JSON object, a numeric feature given a non-number, a categorical one a non-string.
    [[nodiscard]] static result<row_set> parse_jsonl(std::string_view text,
                                                     const feature_spec& spec);

    [[nodiscard]] std::size_t size() const noexcept { return _rows; }

    // Resets `b` to `count` rows: rows first, first + 1, … of this set, from the start again
    // past the end. `b`'s categorical values view this set's text. Needs size() > 0 and a
    // batch with the spec's columns.
    void fill(batch& b, std::size_t first, std::size_t count) const;

private:
    std::size_t _rows = 0;
    std::size_t _numeric_columns = 0;
    std::size_t _categorical_columns = 0;
    std::vector<double> _numeric;           // row-major
    std::vector<std::string> _categorical;  // row-major; "" = missing
};

}  // namespace adsx::ranking
