#include "app.h"

#include <iostream>

#include "adsx/log/log.h"
#include "adsx/stack/services.h"

namespace adsx::app {

result<config::config> context::load() const
{
    auto env = config::process_env();
    if (!log_level.empty()) {
        env["ADSX_LOG__LEVEL"] = log_level;
    }
    auto path = config::locate(config_path, env, exe_dir);
    if (!path) {
        return fail(path.error());
    }
    auto cfg = config::load(*path, env);
    if (!cfg) {
        return fail(cfg.error());
    }
    log::init(cfg->log.level);
    return cfg;
}

int with_config(const context& ctx, const std::function<int(const config::config&)>& body)
{
    auto cfg = ctx.load();
    if (!cfg) {
        return report(cfg.error());
    }
    return body(*cfg);
}

std::vector<kafka::topic_spec> event_topics(const config::config& cfg)
{
    const auto& k = cfg.kafka;
    const auto retention = std::to_string(std::int64_t{k.retention_hours} * 3'600'000);
    return {{k.events_topic,
             k.events_partitions,
             k.replication_factor,
             {{"retention.ms", retention}, {"cleanup.policy", "delete"}}},
            {k.dlq_topic,
             3,
             k.replication_factor,
             {{"retention.ms", retention}, {"cleanup.policy", "delete"}}},
            // Keyed by user like ad.events, so a user's serves and events share a partition.
            {k.serves_topic,
             k.events_partitions,
             k.replication_factor,
             {{"retention.ms", retention}, {"cleanup.policy", "delete"}}},
            // Erasure requests (privacy/erasure_record.h), keyed by user: a trickle.
            {k.privacy_topic,
             1,
             k.replication_factor,
             {{"retention.ms", retention}, {"cleanup.policy", "delete"}}}};
}

result<void> ensure_event_topics(const config::config& cfg, std::chrono::seconds timeout)
{
    for (const auto& spec : event_topics(cfg)) {
        if (auto r = kafka::ensure_topic_matches(cfg.kafka.bootstrap_servers, spec, timeout); !r) {
            return fail(r.error());
        }
    }
    return {};
}

result<std::unique_ptr<kafka::consumer_group>> consumer_from(
    const config::config& cfg, const std::string& group, const std::string& topic,
    const std::map<int, std::int64_t>& position)
{
    return kafka::consumer_group::open(
        {.bootstrap = cfg.kafka.bootstrap_servers,
         .group = group,
         .topic = topic,
         .extra = {{"session.timeout.ms", "10000"}}},
        [&position](int p) {
            auto it = position.find(p);
            return it == position.end() ? std::int64_t{-1} : it->second;
        },
        [](const std::vector<int>&) {});
}

result<bool> caught_up(kafka::consumer_group& g, const std::map<int, std::int64_t>& next)
{
    auto marks = g.topic_watermarks(std::chrono::seconds(5));
    if (!marks) {
        return fail(marks.error());
    }
    for (const auto& [p, range] : *marks) {
        const auto [low, high] = range;
        auto it = next.find(p);
        if (high > low && (it == next.end() || it->second < high)) {
            return false;
        }
    }
    return true;
}

std::unique_ptr<metrics::exposer> start_metrics(const config::config& cfg,
                                                const std::string& component)
{
    auto srv = metrics::exposer::start(cfg.metrics.host, cfg.metrics.port, component);
    if (!srv) {
        log::get(component).warn("no /metrics endpoint", {{"reason", srv.error().message}});
        return nullptr;
    }
    if (cfg.prometheus.managed) {
        (void)(*srv)->register_with(stack::prometheus_targets_dir(cfg));
    }
    return std::move(*srv);
}

std::filesystem::path migrations_dir(const config::config& cfg)
{
    return cfg.stack.deploy_dir / "postgres" / "migrations";
}

int report(const error& e)
{
    std::cerr << "adsx: " << e.message << "\n";
    return exit_code(e);
}

}  // namespace adsx::app
