#pragma once
// The headline panels of the Grafana dashboard (deploy/grafana/adstreamx.json: its timeseries
// panels tagged "headline") drawn from Prometheus's HTTP API into one self-contained HTML page,
// for users who do not run Grafana: the same PromQL, read from the same file.
//
//   auto panels = parse_headline_panels(read(deploy_dir / "grafana/adstreamx.json"));
//   auto page = dashboard_page(cfg.prometheus.host, cfg.prometheus.port, *panels, 30min, now);
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::stack {

struct panel_target
{
    std::string expr;
    std::string legend;  // Grafana's legendFormat: {{label}} is a series' label value
};

struct panel
{
    std::string title;
    std::string unit;  // Grafana's unit id: s, short, ops, reqps, …
    std::string description;
    std::vector<panel_target> targets;
};

// The dashboard JSON's headline panels, in order; invalid_argument naming what is missing.
[[nodiscard]] result<std::vector<panel>> parse_headline_panels(std::string_view dashboard_json);

// Asks Prometheus for each target over the last `span` (query_range, about 240 points) and
// renders the page. A target Prometheus refuses shows its error in its panel; unavailable when
// Prometheus cannot be reached at all.
[[nodiscard]] result<std::string> dashboard_page(const std::string& host, int port,
                                                 const std::vector<panel>& panels,
                                                 std::chrono::seconds span,
                                                 std::chrono::system_clock::time_point now);

}  // namespace adsx::stack
