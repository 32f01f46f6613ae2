#pragma once
// The model registry on disk ([models] dir, docs/models.md "Registry layout"):
//   {root}/{name}/{version}/model.json + artifact     one model version, immutable
//   {root}/{name}/current/{arm}                        one line: the version serving that arm
// Versions are written under a temporary name and renamed into place, pointers replaced by
// rename, so a reader sees a whole version or none; directories that are not a positive
// integer (a version being written) are not versions.
//
//   adsx::models::registry reg(cfg.models.dir);
//   auto v = reg.current("ctr", "control");           // result<std::int64_t>
//   auto m = v ? reg.load("ctr", *v) : fail(v.error());
//
// Stateless (every call reads the disk); safe to use from many threads.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/models/manifest.h"
#include "adsx/ranking/model.h"

namespace adsx::models {

class registry
{
public:
    explicit registry(std::filesystem::path root) : _root(std::move(root)) {}

    [[nodiscard]] const std::filesystem::path& root() const noexcept { return _root; }

    // Model names that have at least one version, sorted. not_found when root does not exist.
    [[nodiscard]] result<std::vector<std::string>> names() const;
    // The versions of `name`, ascending (empty when none).
    [[nodiscard]] result<std::vector<std::int64_t>> versions(std::string_view name) const;
    // The highest version of `name`; not_found when it has none.
    [[nodiscard]] result<std::int64_t> newest(std::string_view name) const;
    // arm -> version, for every pointer file in {name}/current/.
    [[nodiscard]] result<std::map<std::string, std::int64_t>> arms(std::string_view name) const;
    // The version {name}/current/{arm} names. not_found when there is no such pointer.
    [[nodiscard]] result<std::int64_t> current(std::string_view name, std::string_view arm) const;

    [[nodiscard]] std::filesystem::path version_dir(std::string_view name,
                                                    std::int64_t version) const;
    [[nodiscard]] std::filesystem::path pointer_file(std::string_view name,
                                                     std::string_view arm) const;

    // The manifest of a version; it must name that name and version.
    [[nodiscard]] result<manifest> read(std::string_view name, std::int64_t version) const;
    // The version loaded and checked (loader.h); its manifest must name that name and version.
    [[nodiscard]] result<std::shared_ptr<const ranking::model>> load(std::string_view name,
                                                                     std::int64_t version) const;

private:
    std::filesystem::path _root;
};

// invalid_argument unless `name` matches the manifest's pattern ^[a-z][a-z0-9_]{0,63}$.
[[nodiscard]] result<void> check_model_name(std::string_view name);
// invalid_argument unless `arm` is 1–64 of [A-Za-z0-9_.-], not starting with '.'.
[[nodiscard]] result<void> check_arm_name(std::string_view arm);

}  // namespace adsx::models
