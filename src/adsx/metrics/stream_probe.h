#pragma once
// The metrics of `adsx stream`, as the stream worker's observer (features::stream_observer).
// Names follow Prometheus conventions; no user ids in labels:
//   adsx_stream_events_total                      records applied to the online store
//   adsx_stream_dead_letters_total{reason}        records sent to the dead-letter topic
//   adsx_stream_batch_seconds                     poll batch: decode → DLQ → commit
//   adsx_stream_redis_commit_seconds              one atomic commit (a pipelined one: until it
//                                                 settles)
//   adsx_stream_freshness_seconds                 event time → visible in Redis
//   adsx_stream_consumer_lag{partition}           records behind the high watermark
//   adsx_stream_stale_commits_total               commits refused by the offset CAS
//   adsx_stream_kafka_errors_total                errors the Kafka consumer reported and
//                                                 retried (a broker unreachable)
//   adsx_stream_key_cache_total{kind,result}      keys served from memory (hit) or read
//                                                 whole to be remembered (miss)
//   adsx_stream_key_cache_keys{kind}              keys the worker remembers now
//   adsx_stream_key_cache_bytes{kind}             the memory they take
//   adsx_stream_request_log_bytes                 the memory its request logs take: with the
//                                                 cache, the state that fills for as long as
//                                                 the windows are
//
//   metrics::stream_probe probe(start_metrics(cfg, "stream"));   // null: count, serve nothing
//   features::stream_worker w(consumer, engine, store, probe, clock, settings);
//
// Owns the exposer it is given. Updates are thread-safe (prometheus-cpp), but the key cache
// deltas assume one caller (the worker's thread).
#include <array>
#include <cstddef>
#include <memory>
#include <optional>

#include "adsx/events/reasons.h"
#include "adsx/features/stream_worker.h"
#include "adsx/metrics/exposer.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace adsx::metrics {

class stream_probe final : public features::stream_observer
{
public:
    // `exposer`: where the metrics are served; null: counted in a registry of the probe's own.
    explicit stream_probe(std::unique_ptr<exposer> exposer);
    stream_probe(const stream_probe&) = delete;
    stream_probe& operator=(const stream_probe&) = delete;
    stream_probe(stream_probe&&) = delete;
    stream_probe& operator=(stream_probe&&) = delete;
    ~stream_probe() override;

    void batch(const features::batch_result& r, std::optional<double> seconds,
               std::int64_t now_ms) override;
    void commit(double seconds) override;
    // The consumer's lag, and the key cache's running totals as increments of its counters.
    void progress(const features::stream_progress& p) override;

    [[nodiscard]] prometheus::Registry& registry() { return *_registry; }

private:
    // One kind of key's counters, and the store's totals they last caught up with.
    struct cache_counters
    {
        prometheus::Counter* hits = nullptr;
        prometheus::Counter* misses = nullptr;
        prometheus::Gauge* keys = nullptr;
        prometheus::Gauge* bytes = nullptr;
        features::cache_counts seen;
    };
    void register_counters();
    void register_histograms();
    void register_cache_and_lag();
    static void advance(cache_counters& c, const features::cache_counts& now);

    probe_registry _probe_registry;
    prometheus::Registry* _registry = nullptr;
    prometheus::Counter* _events = nullptr;
    prometheus::Counter* _stale = nullptr;
    prometheus::Counter* _kafka_errors = nullptr;
    std::uint64_t _kafka_errors_seen = 0;
    std::array<prometheus::Counter*, events::all_reasons.size()> _dlq{};
    prometheus::Histogram* _batch = nullptr;
    prometheus::Histogram* _commit = nullptr;
    prometheus::Histogram* _freshness = nullptr;
    prometheus::Family<prometheus::Gauge>* _lag = nullptr;
    prometheus::Gauge* _request_log_bytes = nullptr;
    cache_counters _user_cache, _shared_cache;
};

}  // namespace adsx::metrics
