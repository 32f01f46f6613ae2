// Proves the LR scorer: a margin is the bias plus standardised numeric terms (log1p applied
// first, a missing value weighing nothing) plus the weights of hashed categorical values and
// crosses (missing as ""), hashed in pieces as the one-shot digest; artifacts whose numeric
// features, hash bits, indices, weights, format or scales do not fit are refused with their
// reason, and so is a batch of another shape.
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "adsx/ranking/hash.h"
#include "adsx/ranking/lr_scorer.h"

namespace adsx::ranking {
namespace {

feature_spec two_numeric_two_categorical()
{
    auto s = parse_feature_spec(R"({
      "numeric": [{"name": "a", "transform": "none"}, {"name": "b", "transform": "log1p"}],
      "categorical": [{"name": "device", "vocab": []}, {"name": "geo", "vocab": []}],
      "crosses": [["device", "geo"]]})");
    EXPECT_TRUE(s) << s.error().message;
    return *s;
}

// The weights table keyed by the one-shot digest of the whole string; the scorer hashes in
// pieces (the "name=" prefix at load), so this also checks that the two agree.
std::string lr_json(int bits = 18, std::string_view numeric_names = R"("a", "b")")
{
    auto names = std::string(numeric_names);
    auto comma = names.find(',');
    const auto ios = hashed_index("device=ios", bits);
    const auto us = hashed_index("geo=US", bits);
    const auto none = hashed_index("geo=", bits);
    const auto cross = hashed_index("device=ios\x1fgeo=US", bits);
    return fmt::format(R"({{"format": "adstreamx-lr/1", "bias": -1.0, "hash_bits": {},
        "numeric": [{{"name": {}, "mean": 1.0, "scale": 2.0, "weight": 0.5}},
                    {{"name": {}, "mean": 0.5, "scale": 1.0, "weight": 2.0}}],
        "hashed": {{"indices": [{}, {}, {}, {}], "weights": [0.25, 0.0625, 1.0, -0.125]}}}})",
                       bits, names.substr(0, comma), names.substr(comma + 1), ios, us, none, cross);
}

TEST(lr_scorer, margin_is_bias_plus_standardised_numeric_plus_hashed_weights)
{
    const auto spec = two_numeric_two_categorical();
    ASSERT_EQ(std::set({hashed_index("device=ios", 18), hashed_index("geo=US", 18),
                        hashed_index("geo=", 18), hashed_index("device=ios\x1fgeo=US", 18)})
                  .size(),
              4u);
    auto s = parse_lr_scorer(lr_json(), spec);
    ASSERT_TRUE(s) << s.error().message;
    batch b(2, 2);
    b.reset(3);
    // Row 0: z_a = (3 - 1) / 2 = 1; b = -5 clamps to 0, log1p(0) = 0, z_b = -0.5; device=ios,
    // geo=US and their cross all weigh.
    b.set_numeric(0, 0, 3.0);
    b.set_numeric(0, 1, -5.0);
    b.set_categorical(0, 0, "ios");
    b.set_categorical(0, 1, "US");
    // Row 1: everything missing: z = 0, and "geo=" (missing = "") has a weight.
    // Row 2: z_a = 0, z_b = -0.5, device=android weighs nothing, geo=US does, the cross not.
    b.set_numeric(2, 0, 1.0);
    b.set_numeric(2, 1, 0.0);
    b.set_categorical(2, 0, "android");
    b.set_categorical(2, 1, "US");
    std::vector<double> out(3);
    ASSERT_TRUE((*s)->margins(b, out));
    EXPECT_EQ(out[0], -1.0 + 0.5 * 1.0 + 2.0 * -0.5 + 0.25 + 0.0625 - 0.125);
    EXPECT_EQ(out[1], -1.0 + 1.0);
    EXPECT_EQ(out[2], -1.0 + 0.0 + 2.0 * -0.5 + 0.0625);
}

TEST(lr_scorer, log1p_transforms_before_standardising)
{
    auto s = parse_lr_scorer(lr_json(), two_numeric_two_categorical());
    ASSERT_TRUE(s);
    batch b(2, 2);
    b.reset(1);
    b.set_numeric(0, 1, 9.0);
    std::vector<double> out(1);
    ASSERT_TRUE((*s)->margins(b, out));
    EXPECT_DOUBLE_EQ(out[0], -1.0 + 2.0 * (std::log1p(9.0) - 0.5) + 1.0);  // + "geo=" weight
}

std::string error_of(const std::string& json)
{
    auto s = parse_lr_scorer(json, two_numeric_two_categorical());
    EXPECT_FALSE(s);
    return s ? std::string() : s.error().message;
}

TEST(lr_scorer, refuses_artifacts_that_do_not_match_the_spec)
{
    EXPECT_EQ(error_of(lr_json(18, R"("b", "a")")),
              "numeric[0]: name is \"b\"; the manifest's numeric feature 0 is \"a\" (same names, "
              "same order)");
    EXPECT_EQ(error_of(R"({"format": "adstreamx-lr/1", "bias": 0, "hash_bits": 4,
                           "numeric": [], "hashed": {"indices": [], "weights": []}})"),
              "numeric lists 0 features; the manifest has 2");
}

TEST(lr_scorer, refuses_bad_hashing_parameters)
{
    auto with = [](std::string_view bits, std::string_view hashed) {
        return fmt::format(R"({{"format": "adstreamx-lr/1", "bias": 0, "hash_bits": {},
            "numeric": [{{"name": "a", "mean": 0, "scale": 1, "weight": 0}},
                        {{"name": "b", "mean": 0, "scale": 1, "weight": 0}}],
            "hashed": {}}})",
                           bits, hashed);
    };
    const auto empty = R"({"indices": [], "weights": []})";
    EXPECT_EQ(error_of(with("0", empty)), "hash_bits is 0, outside 1-30");
    EXPECT_EQ(error_of(with("31", empty)), "hash_bits is 31, outside 1-30");
    EXPECT_TRUE(parse_lr_scorer(with("30", empty), two_numeric_two_categorical()));
    EXPECT_EQ(error_of(with("4", R"({"indices": [16], "weights": [1]})")),
              "hashed.indices[0]: 16 is outside [0, 2^4)");
    EXPECT_EQ(error_of(with("4", R"({"indices": [3, 3], "weights": [1, 2]})")),
              "hashed.indices[1]: index 3 appears twice");
    EXPECT_EQ(error_of(with("4", R"({"indices": [3], "weights": []})")),
              "hashed: 1 indices but 0 weights");
    EXPECT_EQ(error_of(R"({"format": "adstreamx-lr/2"})"),
              "format is \"adstreamx-lr/2\", expected \"adstreamx-lr/1\"");
    EXPECT_EQ(error_of(R"({"format": "adstreamx-lr/1", "bias": 0, "hash_bits": 4, "numeric": [
                  {"name": "a", "mean": 0, "scale": 0, "weight": 0},
                  {"name": "b", "mean": 0, "scale": 1, "weight": 0}]})"),
              "numeric[0]: scale must be a finite number other than 0");
}

TEST(lr_scorer, refuses_a_batch_of_another_shape)
{
    auto s = parse_lr_scorer(lr_json(), two_numeric_two_categorical());
    ASSERT_TRUE(s);
    batch b(1, 2);
    b.reset(2);
    std::vector<double> out(2);
    auto r = (*s)->margins(b, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, error_code::invalid_argument);
    batch ok(2, 2);
    ok.reset(3);
    EXPECT_FALSE((*s)->margins(ok, out));  // 2 outputs for 3 rows
}

}  // namespace
}  // namespace adsx::ranking
