// `adsx stream`: the streaming feature engine. Wiring only: features::stream_worker runs the loop
// over features::engine, the online store (redis::feature_store, or redis::cluster_store on
// Redis Cluster), kafka::stream_consumer and dead_letter_producer.
#include <atomic>
#include <csignal>
#include <functional>
#include <iostream>

#include "app.h"
#include "stream_log.h"

#include "adsx/features/catalog.h"
#include "adsx/features/stream_worker.h"
#include "adsx/features/timed_store.h"
#include "adsx/kafka/dead_letter_producer.h"
#include "adsx/kafka/stream_consumer.h"
#include "adsx/metrics/stream_probe.h"
#include "adsx/pg/catalog.h"
#include "adsx/pg/privacy.h"
#include "adsx/privacy/consent_cache.h"
#include "adsx/privacy/suppression.h"
#include "adsx/redis/feature_store.h"

namespace adsx::app {
namespace {

std::atomic<bool> stopping{false};

int run_stream(const config::config& cfg, double until_idle_s)
{
    const auto& s = cfg.stream;
    if (std::int64_t{s.allowed_lateness_s} >= std::int64_t{s.ttl_hours} * 3600) {
        // The user × campaign state's pruning relies on it (features/user_state.h).
        return report({error_code::invalid_argument,
                       "stream.allowed_lateness_s must be shorter than stream.ttl_hours"});
    }
    const auto& clock = system_clock::instance();
    auto catalog = pg::catalog_ad_ids(cfg.postgres);
    auto redis_store = redis::open_stream_store(cfg, clock);
    auto dlq = kafka::dead_letter_producer::open(cfg.kafka.bootstrap_servers, cfg.kafka.dlq_topic);
    for (const auto* e :
         {catalog ? nullptr : &catalog.error(), redis_store ? nullptr : &redis_store.error(),
          dlq ? nullptr : &dlq.error()}) {
        if (e) {
            return report(*e);
        }
    }
    if (auto r = ensure_event_topics(cfg, std::chrono::seconds(15)); !r) {
        return report(r.error());
    }
    metrics::stream_probe probe(start_metrics(cfg, "stream"));
    stream_log log;
    features::observer_list observers({&probe, &log});
    features::timed_store store(**redis_store, observers, clock);
    privacy::consent_cache consent;
    privacy::suppression_list erased;
    auto erased_feed = pg::suppression_feed::start(
        cfg.postgres, erased, std::chrono::seconds(cfg.privacy.suppression_refresh_s));
    if (!erased_feed) {
        return report(erased_feed.error());
    }
    auto personalised = [&](std::string_view user, std::string_view tc) {
        return consent(tc) && !erased.contains(user);
    };
    features::engine engine(
        store, **dlq, features::ad_catalog(*catalog), personalised, clock,
        {.topic = cfg.kafka.events_topic,
         .group = s.group,
         .allowed_lateness_ms = to_ms(std::chrono::seconds(s.allowed_lateness_s)),
         .max_future_ms = to_ms(std::chrono::seconds(cfg.events.max_future_s)),
         .click_window_ms = to_ms(std::chrono::seconds(s.click_window_s)),
         .conversion_window_ms = to_ms(std::chrono::seconds(s.conversion_window_s))});
    auto consumer =
        kafka::stream_consumer::open({.bootstrap = cfg.kafka.bootstrap_servers,
                                      .group = s.group,
                                      .topic = cfg.kafka.events_topic,
                                      .session_timeout = std::chrono::seconds(s.session_timeout_s),
                                      .prefetch_kbytes = std::int64_t{s.prefetch_mb} * 1024});
    if (!consumer) {
        return report(consumer.error());
    }
    std::signal(SIGINT, [](int) { stopping = true; });
    std::signal(SIGTERM, [](int) { stopping = true; });
    log.started(s.group, cfg.kafka.events_topic);
    features::stream_worker worker(**consumer, engine, store, observers, clock,
                                   {.batch_size = static_cast<std::size_t>(s.batch_size),
                                    .linger = std::chrono::milliseconds(s.batch_linger_ms),
                                    .until_idle = std::chrono::duration<double>(until_idle_s)});
    auto summary = worker.run(stopping);
    if (!summary) {
        return report(summary.error());
    }
    std::cout << features::format_summary(*summary);
    return 0;
}

}  // namespace

void add_stream_command(CLI::App& root, context& ctx, action& run)
{
    static double until_idle_s = 0;  // 0 = run until stopped
    auto* cmd = root.add_subcommand(
        "stream", "Streaming feature engine: consume ad.events in consumer group stream.group, "
                  "keep windowed features in Redis (exactly-once: offsets advance atomically "
                  "with the updates), send invalid records to the dead-letter topic with a "
                  "reason. Run several to share the partitions. Stops on SIGINT/SIGTERM.");
    cmd->add_option("--until-idle", until_idle_s,
                    "Exit once idle this many seconds with the whole group caught up (every "
                    "partition's stored offset at the topic's end): catch up and stop")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(
                ctx, [](const config::config& cfg) { return run_stream(cfg, until_idle_s); });
        };
    });
}

}  // namespace adsx::app
