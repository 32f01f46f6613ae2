#pragma once
// model.json, the manifest of one model version (schemas/model.schema.json; docs/models.md).
// Parsing checks every required member and its type, the enumerations and ranges of the
// schema, and that family, artifact file and artifact format agree.
//
//   auto m = adsx::models::read_manifest(dir / "model.json");
//   if (!m) return fail(m.error());   // "<file>: calibration.a is missing"
//   m->features.numeric.size(), m->metrics.auc, m->artifact.sha256
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/ranking/calibration.h"
#include "adsx/ranking/feature_spec.h"
#include "adsx/ranking/model.h"

namespace adsx::models {

inline constexpr std::string_view manifest_file = "model.json";

struct artifact_ref
{
    std::string file;    // "lr.json" or "xgboost.json", beside model.json
    std::string format;  // "adstreamx-lr/1" or "xgboost-json/1.7"
    std::string sha256;  // 64 lowercase hex digits
};

struct training_info
{
    std::string source;
    std::optional<std::int64_t> from_ms;  // time_range_ms, null = open
    std::optional<std::int64_t> to_ms;
    std::map<std::string, std::int64_t> rows;  // per split
};

// metrics.test.
struct test_metrics
{
    std::int64_t rows = 0;
    std::int64_t positives = 0;
    std::optional<double> auc;  // null when the test split has one class only
    double log_loss = 0;
    double normalized_entropy = 0;
    std::optional<double> calibration_ratio;
};

struct importance
{
    std::string feature;
    double value = 0;
};

struct manifest
{
    std::string name;
    std::int64_t version = 0;
    ranking::model_family family = ranking::model_family::lr;
    std::string head;   // "ctr" | "cvr"
    std::string label;  // the training set's label column
    std::string created_at;
    ranking::feature_spec features;
    artifact_ref artifact;
    double negative_rate = 1;  // downsampling.negative_rate
    ranking::calibration calibration;
    training_info training;
    test_metrics metrics;
    std::vector<importance> importances;  // optional in the file; empty when absent
    std::string comparison_json;          // "comparison" as compact JSON; "" when absent/null

    [[nodiscard]] ranking::model_info info() const { return {name, version, family, head}; }
};

// Parses manifest text. invalid_argument naming the member at fault.
[[nodiscard]] result<manifest> parse_manifest(std::string_view json);

// Reads and parses a model.json file; errors start with the file's path. not_found when the
// file does not exist.
[[nodiscard]] result<manifest> read_manifest(const std::filesystem::path& file);

}  // namespace adsx::models
