#pragma once
// The metrics of `adsx generate`, on the shared /metrics exposer (registered with the local
// Prometheus while the run lasts):
//   adsx_generate_records_total{outcome="sent|acknowledged|failed"}
//   adsx_generate_malformed_total{kind="truncated_json|…"}
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
        advance(*_sent, s.sent);
        advance(*_acked, s.acked);
        advance(*_failed, s.failed);
        for (int k = 1; k < simulate::fault_count; ++k) {
            advance(*_malformed[static_cast<std::size_t>(k)], by_kind[static_cast<std::size_t>(k)]);
        }
    }

private:
    static void advance(prometheus::Counter& c, std::uint64_t total)
    {
        const double delta = static_cast<double>(total) - c.Value();
        if (delta > 0) {
            c.Increment(delta);
        }
    }

    std::unique_ptr<metrics::exposer> _exposer;
    prometheus::Counter* _sent = nullptr;
    prometheus::Counter* _acked = nullptr;
    prometheus::Counter* _failed = nullptr;
    std::array<prometheus::Counter*, simulate::fault_count> _malformed{};
};

}  // namespace adsx::app
