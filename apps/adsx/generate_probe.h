#pragma once
// The metrics of `adsx generate`, on the shared /metrics exposer (registered with the local
// Prometheus while the run lasts):
//   adsx_generate_records_total{outcome="sent|acknowledged|failed"}
//   adsx_generate_malformed_total{kind="truncated_json|…"}
//   adsx_generate_kafka_errors_total (the brokers down or unreachable: librdkafka retries)
// observe() copies the producer's counters in; call it every few thousand records.
#include <array>
#include <memory>

#include "app.h"
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "adsx/config/config.h"
#include "adsx/kafka/producer.h"
#include "adsx/log/log.h"
#include "adsx/metrics/exposer.h"
#include "adsx/simulate/generator.h"

namespace adsx::app {

class generate_probe
{
public:
    explicit generate_probe(const config::config& cfg)
    {
        _exposer = start_metrics(cfg, "generate");
        if (!_exposer) {
            return;
        }
        auto& records = prometheus::BuildCounter()
                            .Name("adsx_generate_records_total")
                            .Help("Records of this run by delivery outcome")
                            .Register(_exposer->registry());
        _sent = &records.Add({{"outcome", "sent"}});
        _acked = &records.Add({{"outcome", "acknowledged"}});
        _failed = &records.Add({{"outcome", "failed"}});
        _client_errors = &prometheus::BuildCounter()
                              .Name("adsx_generate_kafka_errors_total")
                              .Help("Client-level Kafka errors (a broker down or unreachable); "
                                    "librdkafka reconnects with backoff")
                              .Register(_exposer->registry())
                              .Add({});
        auto& malformed = prometheus::BuildCounter()
                              .Name("adsx_generate_malformed_total")
                              .Help("Malformed records mixed in, by kind")
                              .Register(_exposer->registry());
        for (int k = 1; k < simulate::fault_count; ++k) {
            _malformed[static_cast<std::size_t>(k)] = &malformed.Add(
                {{"kind", std::string(simulate::name(static_cast<simulate::fault>(k)))}});
        }
    }

    void observe(const kafka::delivery_stats& s,
                 const std::array<std::uint64_t, simulate::fault_count>& by_kind)
    {
        if (!_exposer) {
            return;
        }
        metrics::catch_up(*_sent, _seen.sent, s.sent);
        metrics::catch_up(*_acked, _seen.acked, s.acked);
        metrics::catch_up(*_failed, _seen.failed, s.failed);
        metrics::catch_up(*_client_errors, _seen.client_errors, s.client_errors);
        for (std::size_t k = 1; k < simulate::fault_count; ++k) {
            metrics::catch_up(*_malformed[k], _seen_malformed[k], by_kind[k]);
        }
    }

private:
    std::unique_ptr<metrics::exposer> _exposer;
    prometheus::Counter* _sent = nullptr;
    prometheus::Counter* _acked = nullptr;
    prometheus::Counter* _failed = nullptr;
    prometheus::Counter* _client_errors = nullptr;
    kafka::delivery_stats _seen;  // what the counters hold
    std::array<std::uint64_t, simulate::fault_count> _seen_malformed{};
    std::array<prometheus::Counter*, simulate::fault_count> _malformed{};
};

}  // namespace adsx::app
