#pragma once
// Loads one model version directory ({registry}/{name}/{version}/, docs/models.md) into a
// ranking::model ready to score, with the checks of "Checks on load": the manifest parses and
// has every required member; the artifact's SHA-256 equals artifact.sha256; the artifact
// matches the feature spec (LR: numeric names and order, hash_bits; trees: feature count and
// names).
//
//   auto m = adsx::models::load_model("var/models/ctr/4");
//   if (!m) { std::cerr << m.error().message; }   // "var/models/ctr/4/lr.json: SHA-256 is …"
//
// Every error names the file at fault and what is wrong with it.
#include <filesystem>
#include <memory>

#include "adsx/base/error.h"
#include "adsx/models/manifest.h"
#include "adsx/ranking/model.h"

namespace adsx::models {

[[nodiscard]] result<std::shared_ptr<const ranking::model>> load_model(
    const std::filesystem::path& version_dir);

// The same from a manifest already read from `version_dir`.
[[nodiscard]] result<std::shared_ptr<const ranking::model>> load_model(
    const std::filesystem::path& version_dir, manifest m);

}  // namespace adsx::models
