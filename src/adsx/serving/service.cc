#include "adsx/serving/service.h"

#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/experiments/report.h"
#include "adsx/http/client.h"
#include "adsx/serving/docs_html.h"
#include "adsx/serving/openapi_json.h"

namespace adsx::serving {

std::string_view openapi_json() noexcept
{
    return serving::openapi_document;
}

service::service(service_parts parts)
  : _parts(std::move(parts)), _features(_parts.reader, _parts.clock)
{
    _router.add("GET", "/features/ad/{id}", [this](const http::request& q, const auto& p) {
        return _features.ad(p[0], q.query);
    });
    _router.add("GET", "/features/user/{id}", [this](const http::request& q, const auto& p) {
        return _features.user(p[0], q.query);
    });
    if (_parts.rank) {
        _router.add("POST", "/rank_ads",
                    [this](const http::request& q, const auto&) { return _parts.rank->rank(q); });
    }
    _router.add("GET", "/healthz", [](const http::request&, const auto&) {
        return http::json_reply(200, R"({"status":"ok"})");
    });
    _router.add("GET", "/readyz", [this](const http::request&, const auto&) { return ready(); });
    _router.add("GET", "/metrics", [this](const http::request&, const auto&) {
        http::reply r;
        r.content_type = "text/plain; version=0.0.4";
        r.body = _parts.metrics ? _parts.metrics() : "";
        return r;
    });
    _router.add("GET", "/openapi.json", [](const http::request&, const auto&) {
        return http::json_reply(200, std::string(openapi_json()));
    });
    if (_parts.experiment) {
        _router.add("GET", "/experiments/{name}", [this](const http::request&, const auto& p) {
            auto r = _parts.experiment(std::string(p[0]));
            if (!r) {
                return http::error_reply(r.error());
            }
            http::reply page;
            page.content_type = "text/html; charset=utf-8";
            page.body = experiments::to_html(
                *r, p[0], fmt::format("/experiments/{}/report.json", http::url_encode(p[0])));
            return page;
        });
        _router.add("GET", "/experiments/{name}/report.json",
                    [this](const http::request&, const auto& p) {
                        auto r = _parts.experiment(std::string(p[0]));
                        return r ? http::json_reply(200, experiments::to_json(*r, p[0]))
                                 : http::error_reply(r.error());
                    });
    }
    if (_parts.admin) {
        _parts.admin->add_routes(_router);
    }
    _router.add("GET", "/docs", [](const http::request&, const auto&) {
        http::reply r;
        r.content_type = "text/html; charset=utf-8";
        r.body = std::string(serving::docs_page);
        return r;
    });
}

http::reply service::ready() const
{
    bool all = true;
    std::string checks;
    for (const auto& c : _parts.ready) {
        const auto r = c.check();
        all = all && r.has_value();
        checks += fmt::format("{}{}:{{\"ok\":{}{}}}", checks.empty() ? "" : ",", json_quote(c.name),
                              r ? "true" : "false",
                              r ? "" : ",\"error\":" + json_quote(r.error().message));
    }
    auto out = http::json_reply(all ? 200 : 503,
                                fmt::format("{{\"ready\":{},\"checks\":{{{}}}}}", all, checks));
    if (!all) {
        out.headers.emplace_back("Retry-After", "1");
    }
    return out;
}

}  // namespace adsx::serving
