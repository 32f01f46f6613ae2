#include "adsx/stack/dashboard.h"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/base/strings.h"
#include "adsx/http/client.h"
#include "adsx/stack/dashboard_html.h"

namespace adsx::stack {

namespace {

namespace dom = simdjson::dom;

std::string text_of(dom::element e, const char* key)
{
    std::string_view v;
    return e[key].get_string().get(v) ? std::string() : std::string(v);
}

bool headline(dom::element p)
{
    dom::array tags;
    if (p["tags"].get_array().get(tags)) {
        return false;
    }
    for (auto t : tags) {
        std::string_view s;
        if (!t.get_string().get(s) && s == "headline") {
            return true;
        }
    }
    return false;
}

}  // namespace

result<std::vector<panel>> parse_headline_panels(std::string_view dashboard_json)
{
    dom::parser parser;
    dom::element doc;
    if (parser.parse(dashboard_json.data(), dashboard_json.size()).get(doc)) {
        return fail(error_code::invalid_argument, "the dashboard is not JSON");
    }
    dom::array panels;
    if (doc["panels"].get_array().get(panels)) {
        return fail(error_code::invalid_argument, "the dashboard has no panels array");
    }
    std::vector<panel> out;
    for (auto p : panels) {
        if (text_of(p, "type") != "timeseries" || !headline(p)) {
            continue;
        }
        panel x;
        x.title = text_of(p, "title");
        x.description = text_of(p, "description");
        std::string_view unit;
        if (!p["fieldConfig"]["defaults"]["unit"].get_string().get(unit)) {
            x.unit = unit;
        }
        dom::array targets;
        if (p["targets"].get_array().get(targets)) {
            return fail(error_code::invalid_argument,
                        fmt::format("panel '{}' has no targets", x.title));
        }
        for (auto t : targets) {
            x.targets.push_back({text_of(t, "expr"), text_of(t, "legendFormat")});
            if (x.targets.back().expr.empty()) {
                return fail(error_code::invalid_argument,
                            fmt::format("a target of panel '{}' has no expr", x.title));
            }
        }
        out.push_back(std::move(x));
    }
    if (out.empty()) {
        return fail(error_code::invalid_argument, "the dashboard has no headline panels");
    }
    return out;
}

result<std::string> dashboard_page(const std::string& host, int port,
                                   const std::vector<panel>& panels, std::chrono::seconds span,
                                   std::chrono::system_clock::time_point now)
{
    const double end = std::chrono::duration<double>(now.time_since_epoch()).count();
    const double start = end - static_cast<double>(span.count());
    const double step = std::max(1.0, static_cast<double>(span.count()) / 240);
    // {"prometheus", "start", "end", "step", "panels": [{title, unit, description, targets: [{expr,
    // legend, response (Prometheus's JSON as it answered, or null), error}]}]}
    std::string data =
        fmt::format(R"({{"prometheus":{},"start":{:.3f},"end":{:.3f},"step":{:.3f},"panels":[)",
                    json_quote(fmt::format("http://{}:{}", host, port)), start, end, step);
    bool reached = false;
    std::string first_error;
    for (std::size_t i = 0; i < panels.size(); ++i) {
        const auto& p = panels[i];
        data +=
            fmt::format(R"({}{{"title":{},"unit":{},"description":{},"targets":[)", i ? "," : "",
                        json_quote(p.title), json_quote(p.unit), json_quote(p.description));
        for (std::size_t k = 0; k < p.targets.size(); ++k) {
            const auto& t = p.targets[k];
            auto r = http::get(host, port,
                               fmt::format("/api/v1/query_range?query={}&start={:.3f}&end={:.3f}"
                                           "&step={:.3f}",
                                           http::url_encode(t.expr), start, end, step),
                               std::chrono::seconds(10));
            std::string response = "null", error;
            if (!r) {
                error = r.error().message;
                first_error = first_error.empty() ? error : first_error;
            } else {
                reached = true;
                if (r->status == 200) {
                    response = r->body;  // Prometheus's JSON, embedded as is
                } else {
                    error = fmt::format("Prometheus answered {}: {}", r->status,
                                        r->body.substr(0, 300));
                }
            }
            data +=
                fmt::format(R"({}{{"expr":{},"legend":{},"response":{},"error":{}}})", k ? "," : "",
                            json_quote(t.expr), json_quote(t.legend), response, json_quote(error));
        }
        data += "]}";
    }
    data += "]}";
    if (!reached) {
        return fail(error_code::unavailable,
                    fmt::format("Prometheus at {}:{} not reached: {}", host, port, first_error));
    }
    std::string page(dashboard_page_html);
    constexpr std::string_view slot = "/*DASHBOARD_JSON*/";
    page.replace(page.find(slot), slot.size(), json_for_script(data));
    return page;
}

}  // namespace adsx::stack
