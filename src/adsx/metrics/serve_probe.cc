#include "adsx/metrics/serve_probe.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace adsx::metrics {

serve_probe::serve_probe(std::unique_ptr<exposer> e)
  : _probe_registry(std::move(e)), _registry(&_probe_registry.get())
{
    _requests = &prometheus::BuildCounter()
                     .Name("adsx_serve_requests_total")
                     .Help("Replies of adsx serve by route pattern and status")
                     .Register(*_registry);
    _latency = &prometheus::BuildHistogram()
                    .Name("adsx_serve_request_seconds")
                    .Help("Time from a request read whole to its reply, by route pattern")
                    .Register(*_registry);
    register_rank();
}

serve_probe::~serve_probe() = default;

void serve_probe::register_rank()
{
    auto& r = *_registry;
    const prometheus::Histogram::BucketBoundaries seconds{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                          0.005,  0.01,    0.025,  0.05,  0.1};
    _candidates = &prometheus::BuildHistogram()
                       .Name("adsx_serve_rank_candidates")
                       .Help("Ads retrieved per /rank_ads request")
                       .Register(r)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0, 1, 10, 50, 100, 250, 500,
                                                                        1000, 2000});
    _store = &prometheus::BuildHistogram()
                  .Name("adsx_serve_store_seconds")
                  .Help("The online store round trip of one /rank_ads request")
                  .Register(r)
                  .Add({}, seconds);
    _scoring = &prometheus::BuildHistogram()
                    .Name("adsx_serve_scoring_seconds")
                    .Help("Row building and scoring of one /rank_ads request")
                    .Register(r)
                    .Add({}, seconds);
    _slots = &prometheus::BuildCounter()
                  .Name("adsx_serve_rank_slots_total")
                  .Help("Slots /rank_ads requests asked for")
                  .Register(r)
                  .Add({});
    _filled = &prometheus::BuildCounter()
                   .Name("adsx_serve_rank_filled_total")
                   .Help("Slots /rank_ads filled (fill rate = filled / slots)")
                   .Register(r)
                   .Add({});
    _degraded = &prometheus::BuildCounter()
                     .Name("adsx_serve_rank_degraded_total")
                     .Help("/rank_ads answers that degraded (online store or model unavailable)")
                     .Register(r)
                     .Add({});
    _arms = &prometheus::BuildCounter()
                 .Name("adsx_serve_rank_arm_requests_total")
                 .Help("/rank_ads answers by experiment and arm (both empty outside experiments)")
                 .Register(r);
    _catalog_age = &prometheus::BuildGauge()
                        .Name("adsx_serve_catalog_age_seconds")
                        .Help("Age of the catalog snapshot serving")
                        .Register(r)
                        .Add({});
    _refresh_failures = &prometheus::BuildCounter()
                             .Name("adsx_serve_catalog_refresh_failures_total")
                             .Help("Catalog reads that failed (the last snapshot serves)")
                             .Register(r)
                             .Add({});
    _log_dropped = &prometheus::BuildCounter()
                        .Name("adsx_serve_serve_log_dropped_total")
                        .Help("Served decisions the serve log could not send")
                        .Register(r)
                        .Add({});
    _reload_failures = &prometheus::BuildCounter()
                            .Name("adsx_serve_model_reload_failures_total")
                            .Help("Model versions the registry pointed to that could not be "
                                  "loaded (the model loaded before keeps serving)")
                            .Register(r);
    for (const char* head : {"ctr", "cvr"}) {
        _reload_failures->Add({{"head", head}});  // at 0 from the start, for rate() and alerts
    }
    _redis_used = &prometheus::BuildGauge()
                       .Name("adsx_redis_memory_used_bytes")
                       .Help("The online store's used_memory (Redis INFO memory)")
                       .Register(r)
                       .Add({});
    _redis_max = &prometheus::BuildGauge()
                      .Name("adsx_redis_memory_max_bytes")
                      .Help("The online store's maxmemory (0: no limit)")
                      .Register(r)
                      .Add({});
    _daily_newest = &prometheus::BuildGauge()
                         .Name("adsx_daily_features_newest_day_timestamp_seconds")
                         .Help("UTC midnight of the newest day the daily job wrote ad features "
                               "for (features_ad in PostgreSQL); 0 when none")
                         .Register(r)
                         .Add({});
}

void serve_probe::ranked(const serving::rank_outcome& o)
{
    _candidates->Observe(static_cast<double>(o.candidates));
    _store->Observe(o.store_seconds);
    _scoring->Observe(o.scoring_seconds);
    _slots->Increment(static_cast<double>(o.slots));
    _filled->Increment(static_cast<double>(o.filled));
    if (o.degraded) {
        _degraded->Increment();
    }
    _arms->Add({{"experiment", std::string(o.experiment)}, {"arm", std::string(o.arm)}})
        .Increment();
}

void serve_probe::sample(const loop_sample& s)
{
    _catalog_age->Set(s.catalog_age_s);
    catch_up(*_refresh_failures, _refresh_failures_seen, s.catalog_refresh_failures);
    catch_up(*_log_dropped, _log_dropped_seen, s.serve_log_dropped);
}

void serve_probe::sample(const dependencies& v)
{
    for (const auto& [head, n] : v.model_reload_failures) {
        catch_up(_reload_failures->Add({{"head", head}}), _reload_failures_seen[head], n);
    }
    if (v.redis_memory) {
        _redis_used->Set(v.redis_memory->first);
        _redis_max->Set(v.redis_memory->second);
    }
    if (v.daily_features_newest_day_s) {
        _daily_newest->Set(*v.daily_features_newest_day_s);
    }
}

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
