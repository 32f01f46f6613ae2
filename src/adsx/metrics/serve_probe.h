#pragma once
// The metrics of `adsx serve`, as the HTTP server's observer (http::server_observer). Names
// follow Prometheus conventions; labels are route patterns and statuses, never ids:
//   adsx_serve_requests_total{route,status}      replies, the server's own (413, 503…) included
//   adsx_serve_request_seconds{route}            from a request read whole to its reply handed
//                                                to the socket (queueing included)
//
//   metrics::serve_probe probe(start_metrics(cfg, "serve"));   // null exposer: count only
//   http::server::start(settings, handler, &probe, namer);
//   probe.text();   // what GET /metrics serves
//
// Thread-safe (prometheus-cpp). Owns the exposer it is given.
#include <memory>
#include <string>

#include "adsx/http/server.h"
#include "adsx/metrics/exposer.h"

namespace prometheus {
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace adsx::metrics {

class serve_probe final : public http::server_observer
{
public:
    explicit serve_probe(std::unique_ptr<exposer> exposer);
    ~serve_probe() override;

    void replied(std::string_view route, const http::request& q, const http::reply& r,
                 double seconds) override;
    // The registry in the Prometheus text format.
    [[nodiscard]] std::string text();

private:
    std::unique_ptr<exposer> _exposer;
    std::shared_ptr<prometheus::Registry> _own;  // without an exposer
    prometheus::Registry* _registry = nullptr;
    prometheus::Family<prometheus::Counter>* _requests = nullptr;
    prometheus::Family<prometheus::Histogram>* _latency = nullptr;
};

}  // namespace adsx::metrics
