#pragma once
// Renderings of an experiment report (analysis.h): JSON for machines (every number at full
// precision, NaN as null), Markdown for people (the headline, the per-arm table, each metric's
// lift and verdicts), and one self-contained HTML page (report.html with the JSON inside: tables,
// a forest plot of lifts, the cumulative lift with its confidence sequence per day).
//
//   auto r = analyze(data, opts);
//   std::cout << to_json(*r, "exp-42");
#include <string>
#include <string_view>

#include "adsx/experiments/analysis.h"

namespace adsx::experiments {

[[nodiscard]] std::string to_json(const report& r, std::string_view name);
[[nodiscard]] std::string to_markdown(const report& r, std::string_view name);
// `live_url`: when not empty, the page refetches that URL's JSON every 5 s and redraws.
[[nodiscard]] std::string to_html(const report& r, std::string_view name,
                                  std::string_view live_url = {});

}  // namespace adsx::experiments
