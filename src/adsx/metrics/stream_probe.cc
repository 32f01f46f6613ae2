#include "adsx/metrics/stream_probe.h"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace adsx::metrics {

stream_probe::stream_probe(std::unique_ptr<exposer> e)
  : _probe_registry(std::move(e)), _registry(&_probe_registry.get())
{
    register_counters();
    register_histograms();
    register_cache_and_lag();
}

stream_probe::~stream_probe() = default;

void stream_probe::register_counters()
{
    auto& r = *_registry;
    _events = &prometheus::BuildCounter()
                   .Name("adsx_stream_events_total")
                   .Help("Records applied to the online store")
                   .Register(r)
                   .Add({});
    _kafka_errors = &prometheus::BuildCounter()
                         .Name("adsx_stream_kafka_errors_total")
                         .Help("Errors the Kafka consumer reported and retried")
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
}

void stream_probe::register_histograms()
{
    auto& r = *_registry;
    const prometheus::Histogram::BucketBoundaries latency{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};
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
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.025, 0.05, 0.1, 0.15, 0.2,
                                                                       0.25, 0.3, 0.4, 0.5, 1, 2.5,
                                                                       5, 10, 30, 60, 300});
}

void stream_probe::register_cache_and_lag()
{
    auto& r = *_registry;
    auto& cache = prometheus::BuildCounter()
                      .Name("adsx_stream_key_cache_total")
                      .Help("Keys of commits served from the worker's memory (hit) or "
                            "read whole from Redis to be remembered (miss), by kind")
                      .Register(r);
    _user_cache.hits = &cache.Add({{"kind", "user"}, {"result", "hit"}});
    _user_cache.misses = &cache.Add({{"kind", "user"}, {"result", "miss"}});
    _shared_cache.hits = &cache.Add({{"kind", "shared"}, {"result", "hit"}});
    _shared_cache.misses = &cache.Add({{"kind", "shared"}, {"result", "miss"}});
    auto& keys = prometheus::BuildGauge()
                     .Name("adsx_stream_key_cache_keys")
                     .Help("Keys the worker remembers instead of reading them, by kind")
                     .Register(r);
    _user_cache.keys = &keys.Add({{"kind", "user"}});
    _shared_cache.keys = &keys.Add({{"kind", "shared"}});
    auto& bytes = prometheus::BuildGauge()
                      .Name("adsx_stream_key_cache_bytes")
                      .Help("Memory the remembered keys take (keys, fields, values), by kind")
                      .Register(r);
    _user_cache.bytes = &bytes.Add({{"kind", "user"}});
    _shared_cache.bytes = &bytes.Add({{"kind", "shared"}});
    _request_log_bytes = &prometheus::BuildGauge()
                              .Name("adsx_stream_request_log_bytes")
                              .Help("Memory the owned partitions' request logs take (the request "
                                    "ids that tell follow-ups from orphans)")
                              .Register(r)
                              .Add({});
    _lag = &prometheus::BuildGauge()
                .Name("adsx_stream_consumer_lag")
                .Help("Records behind the partition's high watermark")
                .Register(r);
}

void stream_probe::batch(const features::batch_result& b, std::optional<double> seconds,
                         std::int64_t now_ms)
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
        _freshness->Observe(static_cast<double>(now_ms - t) / 1000.0);
    }
}

void stream_probe::commit(double seconds)
{
    _commit->Observe(seconds);
}

void stream_probe::progress(const features::stream_progress& p)
{
    for (const auto& [partition, n] : p.lag) {
        _lag->Add({{"partition", std::to_string(partition)}}).Set(static_cast<double>(n));
    }
    advance(_user_cache, p.users);
    advance(_shared_cache, p.shared);
    catch_up(*_kafka_errors, _kafka_errors_seen, p.consumer_errors);
    _request_log_bytes->Set(static_cast<double>(p.request_log_bytes));
}

void stream_probe::advance(cache_counters& c, const features::cache_counts& now)
{
    c.hits->Increment(static_cast<double>(now.hits - c.seen.hits));
    c.misses->Increment(static_cast<double>(now.misses - c.seen.misses));
    c.keys->Set(static_cast<double>(now.keys));
    c.bytes->Set(static_cast<double>(now.bytes));
    c.seen = now;
}

}  // namespace adsx::metrics
