#pragma once
// Consumer-group lag as `adsx lag --serve` exposes it, under the names of kafka_exporter (the
// exporter most Kafka deployments run), so one set of alert rules reads either:
//   kafka_consumergroup_lag{consumergroup,topic,partition}             records still to read
//   kafka_consumergroup_current_offset{consumergroup,topic,partition}  the group's committed
//                                                                      offset (absent: none)
//   kafka_topic_partition_current_offset{topic,partition}              the high watermark
//   adsx_lag_polls_total{outcome}                                      polls, "ok" or "failed"
// Measured from outside the consumers (their committed offsets, asked of Kafka), so a stalled or
// dead worker's partitions keep showing their growing lag; the worker's own
// adsx_stream_consumer_lag stops with it.
//
//   metrics::lag_probe probe(start_metrics(cfg, "lag"));
//   probe.report("features", "ad.events", {{.partition = 0, .committed = 10, .high = 12}});
//
// Thread-safe (prometheus-cpp). Owns the exposer it is given.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "adsx/metrics/exposer.h"

namespace prometheus {
class Counter;
template <typename T>
class Family;
class Gauge;
}  // namespace prometheus

namespace adsx::metrics {

struct partition_offsets
{
    int partition = 0;
    std::int64_t committed = -1;  // -1: the group has committed none
    std::int64_t high = 0;
    std::int64_t lag = 0;
};

class lag_probe
{
public:
    explicit lag_probe(std::unique_ptr<exposer> e);
    void report(const std::string& group, const std::string& topic,
                std::span<const partition_offsets> partitions);
    void failed();
    [[nodiscard]] prometheus::Registry& registry() noexcept { return _registry.get(); }

private:
    probe_registry _registry;
    prometheus::Family<prometheus::Gauge>* _lag = nullptr;
    prometheus::Family<prometheus::Gauge>* _committed = nullptr;
    prometheus::Family<prometheus::Gauge>* _high = nullptr;
    prometheus::Counter* _ok = nullptr;
    prometheus::Counter* _failed = nullptr;
};

}  // namespace adsx::metrics
