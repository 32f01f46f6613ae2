#pragma once
// The routes of `adsx serve`, as one router over the parts the app wires in: the feature API
// (its reader and clock), the readiness checks of each dependency, and the metrics text.
//
//   serving::service svc({.reader = redis_reader, .clock = system_clock::instance(),
//                         .ready = {{"redis", [&] { return redis_reader.ping(); }}},
//                         .metrics = [&] { return metrics::render(registry); }});
//   http::server::start(settings, [&](const http::request& q) { return svc.handle(q); }, …);
//
// Routes: GET /features/ad/{id}, GET /features/user/{id} (feature_api.h), POST /rank_ads
// (rank_api.h), /healthz, /readyz
// (200 when every check passes, else 503 naming the failing ones), /metrics, /openapi.json
// (schemas/openapi.json, embedded at build time), /docs (a page rendering it, no CDN), and
// /experiments/{name} (an experiment's report page, redrawn every 5 s from
// /experiments/{name}/report.json) and the operators' /admin routes behind a bearer token
// (admin_api.h).
// Immutable after construction; handle() is safe from many threads when the parts are.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/base/time.h"
#include "adsx/experiments/analysis.h"
#include "adsx/features/online_reader.h"
#include "adsx/http/router.h"
#include "adsx/serving/admin_api.h"
#include "adsx/serving/feature_api.h"
#include "adsx/serving/rank_api.h"

namespace adsx::serving {

struct readiness_check
{
    std::string name;
    std::function<result<void>()> check;
};

struct service_parts
{
    features::online_reader& reader;
    const adsx::clock& clock;
    std::vector<readiness_check> ready;
    std::function<std::string()> metrics;  // Prometheus text exposition
    const rank_api* rank = nullptr;        // POST /rank_ads (absent: 404)
    // GET /experiments/{name} (the live report page) and /experiments/{name}/report.json
    // (absent: 404).
    std::function<result<experiments::report>(const std::string& name)> experiment;
    const admin_api* admin = nullptr;  // the /admin routes (absent: 404)
};

class service
{
public:
    explicit service(service_parts parts);

    [[nodiscard]] http::reply handle(const http::request& q) const { return _router.route(q); }
    // The route pattern a request matches, for metrics labels.
    [[nodiscard]] std::string_view route_of(const http::request& q) const
    {
        return _router.pattern_of(q);
    }

private:
    [[nodiscard]] http::reply ready() const;

    service_parts _parts;
    feature_api _features;
    http::router _router;
};

// The OpenAPI document this binary serves (schemas/openapi.json).
[[nodiscard]] std::string_view openapi_json() noexcept;

}  // namespace adsx::serving
