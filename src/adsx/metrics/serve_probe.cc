#include "adsx/metrics/serve_probe.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace adsx::metrics {

serve_probe::serve_probe(std::unique_ptr<exposer> e) : _exposer(std::move(e))
{
    if (_exposer) {
        _registry = &_exposer->registry();
    } else {
        _own = std::make_shared<prometheus::Registry>();
        _registry = _own.get();
    }
    _requests = &prometheus::BuildCounter()
                     .Name("adsx_serve_requests_total")
                     .Help("Replies of adsx serve by route pattern and status")
                     .Register(*_registry);
    _latency = &prometheus::BuildHistogram()
                    .Name("adsx_serve_request_seconds")
                    .Help("Time from a request read whole to its reply, by route pattern")
                    .Register(*_registry);
}

serve_probe::~serve_probe() = default;

void serve_probe::replied(std::string_view route, const http::request&, const http::reply& r,
                          double seconds)
{
    const std::string name(route);
    _requests->Add({{"route", name}, {"status", std::to_string(r.status)}}).Increment();
    static const prometheus::Histogram::BucketBoundaries buckets{
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
    _latency->Add({{"route", name}}, buckets).Observe(seconds);
}

std::string serve_probe::text()
{
    return render(*_registry);
}

}  // namespace adsx::metrics
