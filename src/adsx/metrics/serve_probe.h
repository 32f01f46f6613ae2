#pragma once
// The metrics of `adsx serve`, as the HTTP server's observer (http::server_observer). Names
// follow Prometheus conventions; labels are route patterns and statuses, never ids:
//   adsx_serve_requests_total{route,status}      replies, the server's own (413, 503…) included
//   adsx_serve_request_seconds{route}            from a request read whole to its reply handed
//                                                to the socket (queueing included)
//   adsx_serve_rank_candidates                   ads retrieved per /rank_ads request
//   adsx_serve_rank_slots_total, _filled_total   slots asked for and filled (fill rate)
//   adsx_serve_rank_degraded_total               answers that degraded (store, model)
//   adsx_serve_store_seconds, _scoring_seconds   the Redis round trip and scoring of a request
//   adsx_serve_catalog_age_seconds               age of the catalog snapshot serving
//   adsx_serve_catalog_refresh_failures_total    catalog reads that failed (the last snapshot
//                                                serves; the next read backs off)
//   adsx_serve_serve_log_dropped_total           decisions the serve log could not send
//   adsx_serve_model_reload_failures_total{head} model versions the registry pointed to that
//                                                could not be loaded (the previous one serves)
//   adsx_redis_memory_used_bytes, _max_bytes     the online store's INFO memory (max 0: none)
//   adsx_daily_features_newest_day_timestamp_seconds
//                                                the newest day the daily job wrote features for
//                                                (its UTC midnight), as serving reads them
//
//   metrics::serve_probe probe(start_metrics(cfg, "serve"));   // null exposer: count only
//   http::server::start(settings, handler, &probe, namer);
//   probe.text();   // what GET /metrics serves
//
// Thread-safe (prometheus-cpp). Owns the exposer it is given.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "adsx/http/server.h"
#include "adsx/metrics/exposer.h"
#include "adsx/serving/rank_api.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace adsx::metrics {

class serve_probe final
  : public http::server_observer
  , public serving::rank_observer
{
public:
    explicit serve_probe(std::unique_ptr<exposer> exposer);
    ~serve_probe() override;

    void replied(std::string_view route, const http::request& q, const http::reply& r,
                 double seconds) override;
    void ranked(const serving::rank_outcome& o) override;
    // What the app samples every turn of its loop: the catalog's age, and its failed reads and
    // the serve log's drops so far.
    struct loop_sample
    {
        double catalog_age_s = 0;
        std::uint64_t catalog_refresh_failures = 0;
        std::uint64_t serve_log_dropped = 0;
    };
    void sample(const loop_sample& s);
    // What serving's dependencies look like, sampled every catalog refresh; a store that did
    // not answer (nullopt) leaves its gauges as they were.
    struct dependencies
    {
        std::map<std::string, std::uint64_t> model_reload_failures;  // per head, so far
        std::optional<std::pair<double, double>> redis_memory;       // used, max bytes
        std::optional<double> daily_features_newest_day_s;
    };
    void sample(const dependencies& d);
    // The registry in the Prometheus text format.
    [[nodiscard]] std::string text();

private:
    void register_rank();

    probe_registry _probe_registry;
    prometheus::Registry* _registry = nullptr;
    prometheus::Family<prometheus::Counter>* _requests = nullptr;
    prometheus::Family<prometheus::Histogram>* _latency = nullptr;
    prometheus::Histogram* _candidates = nullptr;
    prometheus::Histogram* _store = nullptr;
    prometheus::Histogram* _scoring = nullptr;
    prometheus::Counter* _slots = nullptr;
    prometheus::Counter* _filled = nullptr;
    prometheus::Counter* _degraded = nullptr;
    prometheus::Family<prometheus::Counter>* _arms = nullptr;  // by experiment and arm
    prometheus::Gauge* _catalog_age = nullptr;
    prometheus::Counter* _refresh_failures = nullptr;
    std::uint64_t _refresh_failures_seen = 0;
    prometheus::Counter* _log_dropped = nullptr;
    std::uint64_t _log_dropped_seen = 0;
    prometheus::Family<prometheus::Counter>* _reload_failures = nullptr;
    std::map<std::string, std::uint64_t> _reload_failures_seen;
    prometheus::Gauge* _redis_used = nullptr;
    prometheus::Gauge* _redis_max = nullptr;
    prometheus::Gauge* _daily_newest = nullptr;
};

}  // namespace adsx::metrics
