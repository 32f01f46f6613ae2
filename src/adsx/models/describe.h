#pragma once
// Human-readable summaries of manifests, for `adsx model list|show`.
//
//   for (const auto& line : adsx::models::describe(m)) std::cout << line << "\n";
#include <string>
#include <vector>

#include "adsx/models/manifest.h"

namespace adsx::models {

// "0.7123", or "n/a" for a metric the test split could not give (one class only).
[[nodiscard]] std::string metric_text(const std::optional<double>& v);

// The manifest as aligned "label  value" lines: identity, artifact, features, downsampling,
// calibration, training data, test metrics, top importances and the comparison, if any.
[[nodiscard]] std::vector<std::string> describe(const manifest& m);

}  // namespace adsx::models
