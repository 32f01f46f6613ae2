#pragma once
// Renderings of an experiment report (analysis.h): JSON for machines (every number at full
// precision, NaN as null; schemas/experiment_report.schema.json), Markdown for people
// (the headline, the per-arm table, each metric's lift and verdicts).
//
//   auto r = analyze(data, opts);
//   std::cout << to_json(*r, "exp-42");
#include <string>
#include <string_view>

#include "adsx/experiments/analysis.h"

namespace adsx::experiments {

[[nodiscard]] std::string to_json(const report& r, std::string_view name);
[[nodiscard]] std::string to_markdown(const report& r, std::string_view name);

}  // namespace adsx::experiments
