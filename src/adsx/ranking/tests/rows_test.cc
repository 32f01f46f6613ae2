// Proves the JSONL row reader: numbers, strings, nulls and absent features read (missing as NaN
// or ""), blank lines and extra members skipped; fill cycles past the last row; a wrong type, a
// non-object or invalid JSON refused naming the line (and the feature).
#include <cmath>

#include <gtest/gtest.h>

#include "adsx/ranking/rows.h"

namespace adsx::ranking {
namespace {

feature_spec spec()
{
    auto s = parse_feature_spec(R"({"numeric": [{"name": "x", "transform": "none"}],
        "categorical": [{"name": "device", "vocab": []}], "crosses": []})");
    EXPECT_TRUE(s);
    return *s;
}

TEST(row_set, reads_numbers_strings_nulls_and_absent_features)
{
    auto rows = row_set::parse_jsonl(R"({"x": 1.5, "device": "ios", "extra": [1]}
{"x": null, "device": null}

{"x": 7}
)",
                                     spec());
    ASSERT_TRUE(rows) << rows.error().message;
    ASSERT_EQ(rows->size(), 3u);
    batch b(1, 1);
    rows->fill(b, 0, 3);
    EXPECT_EQ(b.numeric(0, 0), 1.5);
    EXPECT_EQ(b.categorical(0, 0), "ios");
    EXPECT_TRUE(std::isnan(b.numeric(1, 0)));
    EXPECT_EQ(b.categorical(1, 0), "");
    EXPECT_EQ(b.numeric(2, 0), 7.0);
    EXPECT_EQ(b.categorical(2, 0), "");
}

TEST(row_set, fill_cycles_past_the_end)
{
    auto rows = row_set::parse_jsonl("{\"x\": 1}\n{\"x\": 2}", spec());
    ASSERT_TRUE(rows);
    batch b(1, 1);
    rows->fill(b, 1, 5);
    ASSERT_EQ(b.rows(), 5u);
    std::vector<double> xs(b.numeric_column(0).begin(), b.numeric_column(0).end());
    EXPECT_EQ(xs, (std::vector<double>{2, 1, 2, 1, 2}));
}

TEST(row_set, errors_name_the_line_and_the_feature)
{
    auto bad = [](std::string_view text) {
        auto r = row_set::parse_jsonl(text, spec());
        EXPECT_FALSE(r);
        return r ? std::string() : r.error().message;
    };
    EXPECT_EQ(bad("{\"x\": 1}\n\n{\"x\": \"7\"}\n"),
              "line 3: \"x\" is a numeric feature: a number or null");
    EXPECT_EQ(bad("{\"device\": 3}"),
              "line 1: \"device\" is a categorical feature: a string or null");
    EXPECT_EQ(bad("{\"x\": 1}\n[1, 2]"), "line 2: not a JSON object");
    EXPECT_EQ(bad("{\"x\": 1}\n{\"x\": 1,").rfind("line 2: not valid JSON (", 0), 0u);
}

}  // namespace
}  // namespace adsx::ranking
