#pragma once
// The file reads of the registry: whole (small) text files, and SHA-256 digests as the
// manifest's artifact.sha256 spells them (64 lowercase hex digits).
//
//   auto hex = adsx::models::file_sha256("var/models/ctr/4/lr.json");
//   auto text = adsx::models::read_text("var/models/ctr/current/control");
#include <filesystem>
#include <string>

#include "adsx/base/error.h"

namespace adsx::models {

// Both: not_found when the file does not exist, failed_precondition when it cannot be read;
// messages start with the file's path.
[[nodiscard]] result<std::string> file_sha256(const std::filesystem::path& file);
[[nodiscard]] result<std::string> read_text(const std::filesystem::path& file);

}  // namespace adsx::models
