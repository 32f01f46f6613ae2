#pragma once
// The metrics of `adsx stream` (names follow Prometheus conventions; no user ids in labels):
//   adsx_stream_events_total                      records applied to the online store
//   adsx_stream_dead_letters_total{reason}        records sent to the dead-letter topic
//   adsx_stream_batch_seconds                     poll batch: decode → DLQ → commit
//   adsx_stream_redis_commit_seconds              one partition's atomic commit
//   adsx_stream_freshness_seconds                 event time → visible in Redis
//   adsx_stream_consumer_lag{partition}           records behind the high watermark
//   adsx_stream_stale_commits_total               commits refused by the offset CAS
//   adsx_stream_key_cache_total{kind,result}      keys served from memory (hit) or read
//                                                 whole to be remembered (miss)
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "app.h"
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "adsx/config/config.h"
#include "adsx/events/reasons.h"
#include "adsx/features/engine.h"
#include "adsx/log/log.h"
#include "adsx/metrics/exposer.h"

namespace adsx::app {

class stream_probe
{
public:
    explicit stream_probe(const config::config& cfg)
    {
        _exposer = start_metrics(cfg, "stream");
        if (!_exposer) {
            _registry = std::make_shared<prometheus::Registry>();  // count anyway, serve nothing
        }
        auto& r = registry();
        _events = &prometheus::BuildCounter()
                       .Name("adsx_stream_events_total")
                       .Help("Records applied to the online store")
                       .Register(r)
                       .Add({});
        _stale = &prometheus::BuildCounter()
                      .Name("adsx_stream_stale_commits_total")
                      .Help("Partition commits refused by the offset compare-and-set")
                      .Register(r)
                      .Add({});
        auto& dlq = prometheus::BuildCounter()
                        .Name("adsx_stream_dead_letters_total")
                        .Help("Records sent to the dead-letter topic, by reason")
                        .Register(r);
        for (auto reason : events::all_reasons) {
            _dlq[static_cast<std::size_t>(reason)] =
                &dlq.Add({{"reason", std::string(events::name(reason))}});
        }
        const prometheus::Histogram::BucketBoundaries latency{
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
        _batch = &prometheus::BuildHistogram()
                      .Name("adsx_stream_batch_seconds")
                      .Help("Time to process one poll batch")
                      .Register(r)
                      .Add({}, latency);
        _commit = &prometheus::BuildHistogram()
                       .Name("adsx_stream_redis_commit_seconds")
                       .Help("Time of one partition's atomic commit to Redis")
                       .Register(r)
                       .Add({}, latency);
        _freshness = &prometheus::BuildHistogram()
                          .Name("adsx_stream_freshness_seconds")
                          .Help("Event time to visible in Redis")
                          .Register(r)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1, 2.5, 5,
                                       10, 30, 60, 300});
        auto& cache = prometheus::BuildCounter()
                          .Name("adsx_stream_key_cache_total")
                          .Help("Keys of commits served from the worker's memory (hit) or "
                                "read whole from Redis to be remembered (miss), by kind")
                          .Register(r);
        _cache[0] = &cache.Add({{"kind", "user"}, {"result", "hit"}});
        _cache[1] = &cache.Add({{"kind", "user"}, {"result", "miss"}});
        _cache[2] = &cache.Add({{"kind", "shared"}, {"result", "hit"}});
        _cache[3] = &cache.Add({{"kind", "shared"}, {"result", "miss"}});
        _lag = &prometheus::BuildGauge()
                    .Name("adsx_stream_consumer_lag")
                    .Help("Records behind the partition's high watermark")
                    .Register(r);
    }

    // `seconds`: the batch's processing time, or nothing for a settling with no batch.
    void batch(const features::batch_result& b, std::optional<double> seconds,
               std::int64_t committed_at_ms)
    {
        _events->Increment(static_cast<double>(b.applied));
        _stale->Increment(static_cast<double>(b.stale.size()));
        for (std::size_t i = 0; i < b.by_reason.size(); ++i) {
            if (b.by_reason[i]) {
                _dlq[i]->Increment(static_cast<double>(b.by_reason[i]));
            }
        }
        if (seconds) {
            _batch->Observe(*seconds);
        }
        for (auto t : b.event_times) {
            _freshness->Observe(static_cast<double>(committed_at_ms - t) / 1000.0);
        }
    }
    void commit(double seconds) { _commit->Observe(seconds); }
    // The store's running totals: user hits, misses, shared hits, misses.
    void key_cache(const std::array<std::size_t, 4>& now)
    {
        for (std::size_t i = 0; i < now.size(); ++i) {
            _cache[i]->Increment(
                static_cast<double>(now[i] - std::exchange(_cache_seen[i], now[i])));
        }
    }
    void lag(const std::map<int, std::int64_t>& by_partition)
    {
        for (const auto& [p, n] : by_partition) {
            _lag->Add({{"partition", std::to_string(p)}}).Set(static_cast<double>(n));
        }
    }

private:
    prometheus::Registry& registry() { return _exposer ? _exposer->registry() : *_registry; }

    std::unique_ptr<metrics::exposer> _exposer;
    std::shared_ptr<prometheus::Registry> _registry;
    prometheus::Counter* _events = nullptr;
    prometheus::Counter* _stale = nullptr;
    std::array<prometheus::Counter*, events::all_reasons.size()> _dlq{};
    prometheus::Histogram* _batch = nullptr;
    prometheus::Histogram* _commit = nullptr;
    prometheus::Histogram* _freshness = nullptr;
    prometheus::Family<prometheus::Gauge>* _lag = nullptr;
    std::array<prometheus::Counter*, 4> _cache{};
    std::array<std::size_t, 4> _cache_seen{};
};

}  // namespace adsx::app
