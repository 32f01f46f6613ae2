#include "adsx/metrics/lag_probe.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

namespace adsx::metrics {

lag_probe::lag_probe(std::unique_ptr<exposer> e) : _registry(std::move(e))
{
    auto& r = _registry.get();
    _lag = &prometheus::BuildGauge()
                .Name("kafka_consumergroup_lag")
                .Help("Records the consumer group has still to read, per partition")
                .Register(r);
    _committed = &prometheus::BuildGauge()
                      .Name("kafka_consumergroup_current_offset")
                      .Help("The consumer group's committed offset, per partition")
                      .Register(r);
    _high = &prometheus::BuildGauge()
                 .Name("kafka_topic_partition_current_offset")
                 .Help("The partition's high watermark: the offset its next record gets")
                 .Register(r);
    auto& polls = prometheus::BuildCounter()
                      .Name("adsx_lag_polls_total")
                      .Help("Polls of the groups' offsets and the topics' watermarks, by outcome")
                      .Register(r);
    _ok = &polls.Add({{"outcome", "ok"}});
    _failed = &polls.Add({{"outcome", "failed"}});
}

void lag_probe::report(const std::string& group, const std::string& topic,
                       std::span<const partition_offsets> partitions)
{
    for (const auto& p : partitions) {
        const auto partition = std::to_string(p.partition);
        const prometheus::Labels of_group{
            {"consumergroup", group}, {"topic", topic}, {"partition", partition}};
        _lag->Add(of_group).Set(static_cast<double>(p.lag));
        if (p.committed >= 0) {
            _committed->Add(of_group).Set(static_cast<double>(p.committed));
        }
        _high->Add({{"topic", topic}, {"partition", partition}}).Set(static_cast<double>(p.high));
    }
    _ok->Increment();
}

void lag_probe::failed()
{
    _failed->Increment();
}

}  // namespace adsx::metrics
