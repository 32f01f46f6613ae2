// Proves the model manifest parser: every member read into its typed field; missing, mistyped
// and out-of-range members refused with a message naming the member and the rule; the artifact
// format checked against the family, and the sha256 form, negative rate, calibration and
// features checked; read_manifest gives not_found for a missing file and names a corrupt one.
#include "fixture.h"
#include <gtest/gtest.h>

#include "adsx/models/manifest.h"

namespace adsx::models {
namespace {

using testing::manifest_json;
using testing::manifest_options;

std::string error_of(const std::string& json)
{
    auto m = parse_manifest(json);
    EXPECT_FALSE(m) << json;
    return m ? std::string() : m.error().message;
}

// The manifest with one member's text replaced (by the first occurrence of `from`).
std::string with(std::string_view from, std::string_view to, manifest_options o = {})
{
    auto json = manifest_json(o);
    auto at = json.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return json.replace(at, from.size(), to);
}

TEST(manifest, parses_every_member)
{
    manifest_options o;
    o.negative_rate = 0.25;
    o.calibration = R"({"method": "isotonic", "x": [0, 0.5, 1], "y": [0, 0.3, 1]})";
    auto m = parse_manifest(manifest_json(o));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->name, "ctr");
    EXPECT_EQ(m->version, 1);
    EXPECT_EQ(m->family, ranking::model_family::lr);
    EXPECT_EQ(m->head, "ctr");
    EXPECT_EQ(m->label, "clicked");
    EXPECT_EQ(m->features.column_names(), (std::vector<std::string>{"x", "device"}));
    EXPECT_EQ(m->artifact.file, "lr.json");
    EXPECT_EQ(m->negative_rate, 0.25);
    EXPECT_EQ(m->calibration.method(), ranking::calibration_method::isotonic);
    EXPECT_EQ(m->calibration.apply(0.25), 0.15);
    EXPECT_EQ(m->training.from_ms, 1767225600000);
    EXPECT_FALSE(m->training.to_ms);
    EXPECT_EQ(m->training.rows.at("test"), 200);
    EXPECT_EQ(m->metrics.auc, 0.71);
    EXPECT_FALSE(m->metrics.calibration_ratio);
    EXPECT_EQ(m->metrics.positives, 9);
    ASSERT_EQ(m->importances.size(), 1u);
    EXPECT_EQ(m->importances[0].feature, "x");
    EXPECT_EQ(m->comparison_json, "");
}

TEST(manifest, refuses_missing_and_mistyped_members)
{
    EXPECT_EQ(error_of(with(R"("metrics")", R"("metrix")")), "metrics is missing");
    EXPECT_EQ(error_of(with(R"("version": 1)", R"("version": "1")")),
              "version: must be an integer");
    EXPECT_EQ(error_of(with(R"("version": 1)", R"("version": 0)")),
              "version is 0; versions are positive");
    EXPECT_EQ(error_of(with(R"("schema_version": 1)", R"("schema_version": 2)")),
              "schema_version is 2; this build reads 1");
    EXPECT_EQ(error_of(with(R"("head": "ctr")", R"("head": "ltv")")),
              "head: \"ltv\" is not one of ctr|cvr");
    EXPECT_EQ(error_of(with(R"("name": "ctr")", R"("name": "CTR")")),
              "name \"CTR\" must match ^[a-z][a-z0-9_]{0,63}$");
    EXPECT_EQ(error_of(with(R"("auc": 0.71)", R"("auc": "high")")),
              "metrics.test.auc: must be a number");
    EXPECT_EQ(error_of(with(R"("rows": {"train")", R"("rows": {"train": -1, "x")")),
              "training.rows.train must be a count");
    EXPECT_EQ(error_of("[1, 2]"), "the document: must be an object");
    EXPECT_EQ(error_of("{\"schema_version\": 1,").rfind("not valid JSON", 0), 0u);
}

TEST(manifest, checks_artifact_downsampling_and_calibration)
{
    manifest_options o;
    o.family = "xgboost";
    EXPECT_EQ(error_of(manifest_json(o)),
              "artifact lr.json (adstreamx-lr/1) does not go with family xgboost");
    o = {};
    o.sha256 = "ABC";
    EXPECT_EQ(error_of(manifest_json(o)), "artifact.sha256 must be 64 lowercase hex digits");
    o = {};
    o.negative_rate = 0;
    EXPECT_EQ(error_of(manifest_json(o)), "downsampling.negative_rate is 0; it must be in (0, 1]");
    o = {};
    o.calibration = R"({"method": "platt", "a": 1})";
    EXPECT_EQ(error_of(manifest_json(o)), "calibration.b is missing");
    o.calibration = R"({"method": "beta"})";
    EXPECT_EQ(error_of(manifest_json(o)),
              "calibration.method: \"beta\" is not one of none|platt|isotonic");
    o.calibration = R"({"method": "isotonic", "x": [0, 1], "y": [0, 1.5]})";
    EXPECT_EQ(error_of(manifest_json(o)), "calibration.y holds 1.5, outside [0, 1]");
    o.calibration = R"({"method": "isotonic", "x": [1, 0], "y": [0, 1]})";
    EXPECT_EQ(error_of(manifest_json(o)),
              "calibration: isotonic knots must not decrease: x[1] = 0 < x[0] = 1");
    o = {};
    o.features = R"({"numeric": [], "categorical": []})";
    EXPECT_EQ(error_of(manifest_json(o)), "features.crosses is missing");
}

TEST(manifest, read_names_the_file)
{
    testing::temp_dir dir;
    auto missing = read_manifest(dir.path() / "model.json");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, error_code::not_found);
    testing::write_file(dir.path() / "model.json", "{\"name\": ");
    auto corrupt = read_manifest(dir.path() / "model.json");
    ASSERT_FALSE(corrupt);
    EXPECT_EQ(
        corrupt.error().message.rfind((dir.path() / "model.json").string() + ": not valid JSON", 0),
        0u)
        << corrupt.error().message;
}

}  // namespace
}  // namespace adsx::models
