#pragma once
// Test helpers: a temporary registry directory and hand-written model versions.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace adsx::models::testing {

// A fresh directory under the system temp dir, removed with the object.
class temp_dir
{
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    temp_dir(temp_dir&&) = delete;
    temp_dir& operator=(temp_dir&&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return _path; }

private:
    std::filesystem::path _path;
};

void write_file(const std::filesystem::path& file, std::string_view text);

// What a test manifest says; the defaults describe a valid LR model "ctr" version 1 with
// numeric feature "x" and categorical "device".
struct manifest_options
{
    std::string name = "ctr";
    std::int64_t version = 1;
    std::string family = "lr";
    std::string artifact_file = "lr.json";
    std::string artifact_format = "adstreamx-lr/1";
    std::string sha256 = std::string(64, '0');
    std::string features = R"({"numeric": [{"name": "x", "transform": "none"}],
        "categorical": [{"name": "device", "vocab": ["ios", "android"]}], "crosses": []})";
    double negative_rate = 1.0;
    std::string calibration = R"({"method": "none"})";
};

[[nodiscard]] std::string manifest_json(const manifest_options& o);

// lr.json for the default features: margin = bias + weight·x (mean 0, scale 1), plus 0.25
// for device=ios.
[[nodiscard]] std::string lr_json(double bias, double weight, std::string_view numeric_name = "x");

// Writes {root}/{o.name}/{o.version}/ with `artifact_text` as o.artifact_file (unless empty)
// and a model.json whose sha256 is the artifact's; returns the version directory.
std::filesystem::path write_version(const std::filesystem::path& root, manifest_options o,
                                    std::string_view artifact_text);

// {root}/{name}/current/{arm} = version.
void point(const std::filesystem::path& root, std::string_view name, std::string_view arm,
           std::int64_t version);

}  // namespace adsx::models::testing
