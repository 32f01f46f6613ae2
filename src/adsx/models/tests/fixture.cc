#include "fixture.h"

#include <atomic>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "adsx/models/files.h"
#include "adsx/ranking/hash.h"

namespace adsx::models::testing {

namespace fs = std::filesystem;

temp_dir::temp_dir()
{
    static std::atomic<int> counter{0};
    _path = fs::temp_directory_path() /
            fmt::format("adsx_models_test_{}_{}", ::getpid(), counter.fetch_add(1));
    fs::remove_all(_path);
    fs::create_directories(_path);
}

temp_dir::~temp_dir()
{
    std::error_code ec;
    fs::remove_all(_path, ec);
}

void write_file(const fs::path& file, std::string_view text)
{
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
}

std::string manifest_json(const manifest_options& o)
{
    return fmt::format(R"({{
  "schema_version": 1, "name": "{}", "version": {}, "family": "{}", "head": "ctr",
  "label": "clicked", "created_at": "2026-11-26T12:00:00Z",
  "features": {},
  "artifact": {{"file": "{}", "format": "{}", "sha256": "{}"}},
  "downsampling": {{"negative_rate": {}}},
  "calibration": {},
  "training": {{"source": "var/lake/training/ctr/manifest.json",
               "time_range_ms": [1767225600000, null], "rows": {{"train": 800, "test": 200}}}},
  "metrics": {{"test": {{"rows": 200, "positives": 9, "auc": 0.71, "log_loss": 0.18,
                        "normalized_entropy": 0.93, "calibration_ratio": null}}}},
  "importance": [{{"feature": "x", "importance": 0.7}}],
  "comparison": null
}})",
                       o.name, o.version, o.family, o.features, o.artifact_file, o.artifact_format,
                       o.sha256, o.negative_rate, o.calibration);
}

std::string lr_json(double bias, double weight, std::string_view numeric_name)
{
    return fmt::format(R"({{"format": "adstreamx-lr/1", "bias": {}, "hash_bits": 16,
        "numeric": [{{"name": "{}", "mean": 0, "scale": 1, "weight": {}}}],
        "hashed": {{"indices": [{}], "weights": [0.25]}}}})",
                       bias, numeric_name, weight, ranking::hashed_index("device=ios", 16));
}

fs::path write_version(const fs::path& root, manifest_options o, std::string_view artifact_text)
{
    const auto dir = root / o.name / std::to_string(o.version);
    if (!artifact_text.empty()) {
        write_file(dir / o.artifact_file, artifact_text);
        o.sha256 = file_sha256(dir / o.artifact_file).value();
    }
    write_file(dir / "model.json", manifest_json(o));
    return dir;
}

void point(const fs::path& root, std::string_view name, std::string_view arm, std::int64_t version)
{
    write_file(root / name / "current" / arm, fmt::format("{}\n", version));
}

}  // namespace adsx::models::testing
