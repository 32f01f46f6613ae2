// `adsx lag`: where consumer groups stand on a topic, asked of Kafka (kafka::group_lag), as a
// table, or with --serve as a Prometheus exporter (metrics::lag_probe) beside the workers.
// Measured from outside the workers, so a stalled one's lag keeps growing where alerts look.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

#include "app.h"
#include <fmt/format.h>

#include "adsx/log/log.h"
#include "adsx/metrics/lag_probe.h"

namespace adsx::app {
namespace {

std::atomic<bool> stop_lag{false};

constexpr auto kafka_timeout = std::chrono::seconds(10);

struct lag_options
{
    std::vector<std::string> groups;  // empty: [stream] group
    std::string topic;                // empty: [kafka] events_topic
    bool serve = false;
    double every_s = 5;
};

std::vector<metrics::partition_offsets> offsets_of(const kafka::group_lag_map& lag)
{
    std::vector<metrics::partition_offsets> out;
    for (const auto& [p, l] : lag) {
        out.push_back({.partition = p, .committed = l.committed, .high = l.high, .lag = l.lag()});
    }
    return out;
}

int print_table(const config::config& cfg, const std::vector<std::string>& groups,
                const std::string& topic)
{
    std::cout << fmt::format("{:<16} {:<16} {:>9} {:>15} {:>15} {:>10}\n", "GROUP", "TOPIC",
                             "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG");
    for (const auto& group : groups) {
        auto lag = kafka::group_lag(cfg.kafka.bootstrap_servers, group, topic, kafka_timeout);
        if (!lag) {
            return report(lag.error());
        }
        std::int64_t total = 0;
        for (const auto& [p, l] : *lag) {
            total += l.lag();
            std::cout << fmt::format("{:<16} {:<16} {:>9} {:>15} {:>15} {:>10}\n", group, topic, p,
                                     l.committed >= 0 ? std::to_string(l.committed) : "-", l.high,
                                     l.lag());
        }
        std::cout << fmt::format("{:<16} {:<16} {:>9} {:>15} {:>15} {:>10}\n", group, topic,
                                 "total", "", "", total);
    }
    return 0;
}

int serve(const config::config& cfg, const std::vector<std::string>& groups,
          const std::string& topic, std::chrono::duration<double> every)
{
    auto log = log::get("lag");
    metrics::lag_probe probe(start_metrics(cfg, "lag"));
    std::signal(SIGINT, [](int) { stop_lag = true; });
    std::signal(SIGTERM, [](int) { stop_lag = true; });
    std::cout << fmt::format("lag of {} on {}, every {} s\n", fmt::join(groups, ", "), topic,
                             every.count())
              << std::flush;
    while (!stop_lag) {
        const auto next = std::chrono::steady_clock::now() + every;
        for (const auto& group : groups) {
            auto lag = kafka::group_lag(cfg.kafka.bootstrap_servers, group, topic, kafka_timeout);
            if (!lag) {
                probe.failed();  // Kafka away: the next poll tries again
                log.warn("lag poll failed", {{"group", group}, {"reason", lag.error().message}});
                continue;
            }
            probe.report(group, topic, offsets_of(*lag));
        }
        while (!stop_lag && std::chrono::steady_clock::now() < next) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    return 0;
}

int run_lag(const config::config& cfg, const lag_options& o)
{
    const auto groups = o.groups.empty() ? std::vector<std::string>{cfg.stream.group} : o.groups;
    const auto& topic = o.topic.empty() ? cfg.kafka.events_topic : o.topic;
    if (!o.serve) {
        return print_table(cfg, groups, topic);
    }
    return serve(cfg, groups, topic, std::chrono::duration<double>(o.every_s));
}

}  // namespace

void add_lag_command(CLI::App& root, context& ctx, action& run)
{
    static lag_options o;
    auto* cmd = root.add_subcommand(
        "lag", "Consumer-group lag on a topic, as Kafka holds it (the group's committed offsets "
               "against the partitions' ends), read without joining the group: a table, or with "
               "--serve a Prometheus exporter under kafka_exporter's metric names, which sees a "
               "stalled or dead worker's lag grow (its own metrics stop with it).");
    cmd->add_option("--group", o.groups, "Consumer group (repeatable; default: stream.group)");
    cmd->add_option("--topic", o.topic, "Topic (default: kafka.events_topic)");
    cmd->add_flag("--serve", o.serve,
                  "Run until SIGINT/SIGTERM, polling every --every seconds and exposing /metrics "
                  "(registered with the local Prometheus)");
    cmd->add_option("--every", o.every_s, "Seconds between polls with --serve")
        ->check(CLI::Range(0.1, 3600.0));
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_lag(cfg, o); });
        };
    });
}

}  // namespace adsx::app
