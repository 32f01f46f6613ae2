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
#include "adsx/xgb/tree_scorer.h"

namespace adsx::models {

// `engine` chooses who walks an XGBoost model's trees (xgb/tree_scorer.h).
[[nodiscard]] result<std::shared_ptr<const ranking::model>> load_model(
    const std::filesystem::path& version_dir, xgb::tree_engine engine = xgb::tree_engine::native);

// The same from a manifest already read from `version_dir`.
[[nodiscard]] result<std::shared_ptr<const ranking::model>> load_model(
    const std::filesystem::path& version_dir, manifest m,
    xgb::tree_engine engine = xgb::tree_engine::native);

}  // namespace adsx::models
