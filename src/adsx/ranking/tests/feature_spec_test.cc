// Proves the feature spec parser: numeric, categorical and cross lists read in order with their
// transforms, vocabularies, column names and indices; unknown transforms and members, missing or
// mistyped members, a name used twice, a repeated vocabulary value and a cross not of two
// categorical features refused naming the member at fault; invalid JSON refused as such.
#include <gtest/gtest.h>

#include "adsx/ranking/feature_spec.h"

namespace adsx::ranking {
namespace {

constexpr std::string_view good = R"({
  "numeric": [{"name": "ad_ctr_1h", "transform": "none"}, {"name": "age_s", "transform": "log1p"}],
  "categorical": [{"name": "device", "vocab": ["ios", "android"]}, {"name": "geo", "vocab": []}],
  "crosses": [["device", "geo"]]})";

std::string error_of(std::string_view json)
{
    auto s = parse_feature_spec(json);
    EXPECT_FALSE(s) << json;
    return s ? std::string() : s.error().message;
}

TEST(feature_spec, parses_the_three_lists_in_order)
{
    auto s = parse_feature_spec(good);
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->numeric.size(), 2u);
    EXPECT_EQ(s->numeric[1].name, "age_s");
    EXPECT_EQ(s->numeric[1].how, transform::log1p);
    ASSERT_EQ(s->categorical.size(), 2u);
    EXPECT_EQ(s->categorical[0].vocab, (std::vector<std::string>{"ios", "android"}));
    ASSERT_EQ(s->crosses.size(), 1u);
    EXPECT_EQ(s->crosses[0].first, 0u);
    EXPECT_EQ(s->crosses[0].second, 1u);
    EXPECT_EQ(s->column_names(), (std::vector<std::string>{"ad_ctr_1h", "age_s", "device", "geo"}));
    EXPECT_EQ(s->numeric_index("age_s"), 1u);
    EXPECT_EQ(s->categorical_index("geo"), 1u);
    EXPECT_FALSE(s->categorical_index("age_s"));
}

TEST(feature_spec, errors_name_the_member_at_fault)
{
    EXPECT_EQ(error_of(R"({"numeric": [{"name": "x", "transform": "sqrt"}], "categorical": [],
                           "crosses": []})"),
              "features.numeric[0].transform: unknown transform \"sqrt\" (none|log1p)");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": [{"name": "d"}], "crosses": []})"),
              "features.categorical[0].vocab is missing");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": [], "crosses": [["a", "b"]]})"),
              "features.crosses[0][0]: \"a\" is not a categorical feature");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": [{"name": "d", "vocab": [1]}],
                           "crosses": []})"),
              "features.categorical[0].vocab[0]: must be a string");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": []})"), "features.crosses is missing");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": [], "crosses": [], "extra": 1})"),
              "features: unknown member \"extra\"");
}

TEST(feature_spec, refuses_a_name_given_twice_and_a_bad_cross)
{
    EXPECT_EQ(error_of(R"({"numeric": [{"name": "d", "transform": "none"}],
                           "categorical": [{"name": "d", "vocab": []}], "crosses": []})"),
              "features: \"d\" names two features");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": [{"name": "d", "vocab": []}],
                           "crosses": [["d"]]})"),
              "features.crosses[0]: a cross names exactly two categorical features");
    EXPECT_EQ(error_of(R"({"numeric": [], "categorical": [{"name": "d", "vocab": ["a", "b", "a"]}],
                           "crosses": []})"),
              "features.categorical[0].vocab[2]: \"a\" is already in the vocab (a value has one "
              "code)");
    EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace adsx::ranking
